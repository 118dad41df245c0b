//! What a syncer delivers as JSON lines, one status or update a line, in the form the syncer
//! goldens captured from Calico's own syncers use (`tests/goldens/README.md`):
//! `{"status":"in-sync"}`, `{"type":"new","key":"/calico/…","value":…}` (no `value` for a
//! deletion). `calicoctl datastore sync` prints them.

use crate::syncer::SyncEvent;
use crate::types::SyncValue;

/// One line a status or update, as the syncer oracle's goldens print them: compact JSON, the
/// value as Calico serializes it (v3 resources in their struct order, IPAM objects as stored).
pub fn json_lines(event: &SyncEvent) -> Vec<String> {
    let text = |value: &dyn erased::Json| value.json().unwrap_or_else(|| "null".to_string());
    match event {
        SyncEvent::Status(status) => {
            vec![format!("{{\"status\":{}}}", text(&status.as_str()))]
        }
        SyncEvent::Updates(updates) => updates
            .iter()
            .map(|update| {
                let mut line = format!(
                    "{{\"type\":{},\"key\":{}",
                    text(&update.update_type.as_str()),
                    text(&update.kv.key.path())
                );
                if let Some(value) = &update.kv.value {
                    line.push_str(",\"value\":");
                    line.push_str(&value_json(value));
                }
                line.push('}');
                line
            })
            .collect(),
        SyncEvent::ParseFailed(failure) => vec![format!(
            "{{\"parseFailed\":{{\"key\":{},\"value\":{},\"error\":{}}}}}",
            text(&failure.key),
            text(&failure.value),
            text(&failure.message)
        )],
        SyncEvent::Failed(error) => vec![format!("{{\"error\":{}}}", text(&error.to_string()))],
    }
}

/// A value's JSON as Calico's Typha serializes it.
fn value_json(value: &SyncValue) -> String {
    let bytes = match value {
        SyncValue::Resource(resource) => calico_api::json::to_vec(resource).ok(),
        SyncValue::Model(model) => model.encode().ok(),
        SyncValue::V1(text) => Some(text.clone().into_bytes()),
    };
    bytes
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| "null".to_string())
}

mod erased {
    /// Anything serializable, as compact Go-style JSON.
    pub trait Json {
        fn json(&self) -> Option<String>;
    }

    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> Option<String> {
            calico_api::json::to_vec(self)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
        }
    }
}
