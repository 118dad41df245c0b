//! `calicoctl ipam …`: the IPAM subcommands this calicoctl implements (`show`, `split`); the
//! work is done by `calico-ipam`, this module parses and prints as Calico's calicoctl does.

use std::net::IpAddr;

use crate::commands::version::CLIENT_VERSION;
use crate::input::go_io_reason;
use calico_api::AnyResource;
use calico_datastore::{KindRef, ResourceKey};
use calico_ipam::block::ReleaseOption;
use calico_ipam::check::CheckReport;
use calico_ipam::config::{self, ConfigUpdate, VM_ADDRESS_PERSISTENCE_VALUES};
use calico_ipam::query::{self, Assignment};
use calico_ipam::release::{delete_leaked_handle, merge_reports, release_ips, HandleDeletion};
use calico_ipam::{split_pool, PoolRef};

use crate::cli::{IpamConfigureArgs, IpamReleaseArgs, IpamShowArgs, IpamSplitArgs};
use crate::clientmgr::Connection;
use crate::gofmt::{count_and_percent, go_g5};
use crate::prettytable::{Align, Table};
use crate::report::Failure;

/// What `ipam show --ip` prints on an address it cannot read (on stdout, exit 1).
fn invalid_ip(text: &str) -> Failure {
    Failure {
        stdout: format!("Error executing command: invalid IP address specified: {text}\n"),
        message: String::new(),
    }
}

/// `calicoctl ipam show`: one address, the pools (and blocks), borrowed addresses or the IPAM
/// configuration, in that order of precedence as Calico's flags have it.
pub async fn show(args: &IpamShowArgs, connection: &Connection) -> Result<String, Failure> {
    let client = &connection.client;
    let failed = |err: calico_datastore::DatastoreError| Failure::message(err.to_string());
    if !args.ip.is_empty() {
        let ip = args
            .ip
            .parse::<IpAddr>()
            .map_err(|_| invalid_ip(&args.ip))?
            .to_canonical();
        return match query::assignment(client, ip).await.map_err(failed)? {
            Assignment::NotAssigned => Ok(format!("{ip} is not assigned\n")),
            Assignment::CoolingDown => {
                Err(Failure::message(format!("address {ip} is in cooldown")))
            }
            Assignment::Assigned(attribute) => {
                let mut out = format!("IP {ip} is in use\n");
                match &attribute.handle_id {
                    Some(handle) => out.push_str(&format!("Handle ID: {handle}\n")),
                    None => out.push_str("Handle ID: <none>\n"),
                }
                let active =
                    query::format_owner_attrs("Active Owner Attributes", &attribute.secondary);
                if active.is_empty() {
                    out.push_str("No Active Owner attributes defined\n");
                } else {
                    out.push_str(&active);
                }
                out.push_str(&query::format_owner_attrs(
                    "Alternate Owner Attributes",
                    &attribute.alternate_owner_attrs,
                ));
                Ok(out)
            }
        };
    }
    if args.show_borrowed && !args.show_blocks {
        let (borrowed, unclassified) =
            query::borrowed_in_datastore(client).await.map_err(failed)?;
        let mut table = borrowed_table();
        for ip in borrowed {
            table.push(vec![
                ip.address.to_string(),
                ip.borrowing_node,
                ip.block.to_string(),
                ip.block_owner,
                ip.allocation_type,
                ip.allocated_to,
            ]);
        }
        let mut out = table.render();
        if unclassified != 0 {
            out.push_str(&format!(
                "\nNote: found {unclassified} IP allocations without an explicit node association. Unable to determine if they are borrowed.\n"
            ));
        }
        return Ok(out);
    }
    if args.show_configuration && !args.show_blocks {
        let config = query::ipam_config(client)
            .await
            .map_err(|err| Failure::message(format!("error: {err}")))?;
        let mut table = Table::new(&["PROPERTY", "VALUE"]);
        // Go's `%#v` of each field of Calico's ipam.IPAMConfig. The KubeVirt setting is a
        // pointer there, printed as its type and address (a different address every run);
        // we print the same shape with a fixed address of the same width (twelve hex digits, as Go
        // heap addresses are on linux/amd64), or `nil` when none is set.
        let persistence = match &config.kube_virt_vm_address_persistence {
            Some(_) => "(*ipam.VMAddressPersistence)(0x2f0000010000)".to_string(),
            None => "(*ipam.VMAddressPersistence)(nil)".to_string(),
        };
        for (name, value) in [
            ("StrictAffinity", config.strict_affinity.to_string()),
            (
                "AutoAllocateBlocks",
                config.auto_allocate_blocks.to_string(),
            ),
            ("MaxBlocksPerHost", config.max_blocks_per_host.to_string()),
            ("KubeVirtVMAddressPersistence", persistence),
            ("IPCooldownSeconds", config.ip_cooldown_seconds.to_string()),
        ] {
            table.push(vec![name.to_string(), value]);
        }
        return Ok(table.render());
    }
    let usage = query::utilization(client, &[]).await.map_err(failed)?;
    let mut table = utilization_table();
    for pool in &usage {
        if pool.cidr.prefix_len() > 0 {
            table.push(utilization_row(
                "IP Pool",
                pool.cidr.to_string(),
                figures(pool.capacity, pool.in_use, pool.reserved, pool.available),
            ));
        }
        if args.show_blocks {
            for block in &pool.blocks {
                table.push(utilization_row(
                    "Block",
                    block.cidr.to_string(),
                    figures(
                        block.capacity,
                        block.in_use,
                        block.reserved,
                        block.available,
                    ),
                ));
            }
        }
    }
    Ok(table.render())
}

/// `calicoctl ipam release --ip IP`: releases one address wherever it is allocated.
pub async fn release(args: &IpamReleaseArgs, connection: &Connection) -> Result<String, Failure> {
    if !args.from_report.is_empty() {
        let mut out = release_from_reports(args, connection).await?;
        out.push_str("You may now unlock the data store.\n");
        return Ok(out);
    }
    if args.ip.is_empty() {
        return Ok(String::new());
    }
    let ip = args
        .ip
        .parse::<IpAddr>()
        .map_err(|_| invalid_ip(&args.ip))?
        .to_canonical();
    let outcome = release_ips(&connection.client, &[ReleaseOption::address(ip)])
        .await
        .map_err(|err| Failure::message(format!("error: {err}")))?;
    if !outcome.unallocated.is_empty() {
        return Err(Failure::message(format!("IP address {ip} is not assigned")));
    }
    Ok(format!("Successfully released IP address {ip}\n"))
}

/// `ipam release --from-report FILE…` (Calico's `ReleaseFromReports`): checks the reports
/// belong to this cluster, this calicoctl and its current state (one at least), and that the
/// datastore is locked (`--force` overrides all but the cluster), then releases what every
/// report finds leaked. What it printed so far goes with a failure.
async fn release_from_reports(
    args: &IpamReleaseArgs,
    connection: &Connection,
) -> Result<String, Failure> {
    let client = &connection.client;
    let mut out = String::new();
    let fail = |out: &String, message: String| Failure {
        stdout: out.clone(),
        message,
    };
    let info = match KindRef::lookup("ClusterInformation") {
        Some(kind) => client
            .get(&ResourceKey::new(kind, "", "default"))
            .await
            .map_err(|err| fail(&out, err.to_string()))?,
        None => {
            return Err(fail(
                &out,
                "kind ClusterInformation is not registered".into(),
            ))
        }
    };
    let AnyResource::ClusterInformation(info) = info else {
        return Err(fail(&out, "ClusterInformation default is not one".into()));
    };
    let mut found_current = false;
    let mut reports = Vec::new();
    for file in &args.from_report {
        let bytes = std::fs::read(file)
            .map_err(|err| fail(&out, format!("open {file}: {}", go_io_reason(&err))))?;
        let report = CheckReport::from_json(&bytes).map_err(|err| fail(&out, err.to_string()))?;
        if info.spec.cluster_guid != report.cluster_guid {
            return Err(fail(&out, format!(
                "cluster does not match the provided report ({file}): mismatched cluster GUID. Refusing to release"
            )));
        }
        if report.version != CLIENT_VERSION {
            if !args.force {
                return Err(fail(&out, format!(
                    "the provided report ({file}) was produced using a different version ({}) of calicoctl. Refusing to release",
                    report.version
                )));
            }
            out.push_str("WARNING: Report was produced using a different version of calicoctl. Ignoring due to --force option\n");
        }
        if info.metadata.resource_version == report.cluster_information_revision {
            found_current = true;
        }
        reports.push(report);
    }
    if !found_current {
        return Err(fail(&out, "the provided reports are all stale - at least one should be up-to-date. Please generate a new report while the data store is locked and try again".into()));
    }
    if info.spec.datastore_ready != Some(false) {
        if !args.force {
            return Err(fail(
                &out,
                "data store is not locked. Either lock the data store, or re-run with --force"
                    .into(),
            ));
        }
        out.push_str("WARNING: Data store is not locked. Ignoring due to --force option\n");
    }
    let (ips, handles) = merge_reports(&reports);
    if ips.is_empty() {
        out.push_str("Report didn't contain any leaked IPs to clean up.\n");
    } else {
        out.push_str(&format!("Releasing {} old IPs...\n", ips.len()));
        match release_ips(client, &ips).await {
            Ok(outcome) => {
                out.push_str(&format!(
                    "Released {} IPs successfully\n",
                    ips.len() - outcome.unallocated.len()
                ));
                if !outcome.unallocated.is_empty() {
                    out.push_str(&format!(
                        "{} addresses marked as leaked in the report had already been cleaned up.\n",
                        outcome.unallocated.len()
                    ));
                }
            }
            Err(err) => out.push_str(&format!(
                "An error occurred while releasing some IPs: {err}.  Problems are often caused by an out-of-date IPAM report.  Try regenerating the IPAM report and retry.\n"
            )),
        }
    }
    if handles.is_empty() {
        out.push_str("Report didn't contain any handles to clean up.\n");
    } else {
        out.push_str(&format!("Deleting {} handles...\n", handles.len()));
        out.push_str("Key: '.' = Deleted OK; 'x' = skip, handle missing/changed.\n");
        let (mut released, mut skipped, mut errors) = (0, 0, 0);
        for handle in &handles {
            match delete_leaked_handle(client, handle).await {
                HandleDeletion::Deleted => {
                    released += 1;
                    out.push('.');
                }
                HandleDeletion::Skipped => {
                    skipped += 1;
                    out.push('x');
                }
                HandleDeletion::Failed(err) => {
                    errors += 1;
                    out.push_str(&format!("\nDeleting handle {} failed: {err}.\n", handle.id));
                }
            }
        }
        out.push('\n');
        out.push_str(&format!(
            "Released {released} handles; {skipped} skipped; {errors} errors.\n"
        ));
    }
    Ok(out)
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `calicoctl ipam configure`: Calico's parsing and messages, then `calico_ipam::config`.
pub async fn configure(
    args: &IpamConfigureArgs,
    connection: &Connection,
) -> Result<String, Failure> {
    let mut update = ConfigUpdate::default();
    if !args.strict_affinity.is_empty() {
        update.strict_affinity = Some(go_parse_bool(&args.strict_affinity).ok_or_else(|| {
            Failure::message("invalid value. Use true or false to set strictaffinity")
        })?);
    }
    if !args.max_blocks_per_host.is_empty() {
        update.max_blocks_per_host =
            Some(atoi(&args.max_blocks_per_host).map_err(|_| {
                Failure::message("invalid value for maxblockhost. Use a valid number")
            })?);
    }
    if !args.kube_virt_ip_persistence.is_empty() {
        if !VM_ADDRESS_PERSISTENCE_VALUES.contains(&args.kube_virt_ip_persistence.as_str()) {
            return Err(Failure::message(
                "invalid value for --kubevirt-ip-persistence. Use Enabled or Disabled",
            ));
        }
        update.kube_virt_vm_address_persistence = Some(args.kube_virt_ip_persistence.clone());
    }
    if args.ip_cooldown_seconds >= 0 {
        update.ip_cooldown_seconds = Some(args.ip_cooldown_seconds);
    }
    if update.is_empty() {
        return Err(Failure::message(
            "at least one configuration option must be specified",
        ));
    }
    config::configure(&connection.client, &update)
        .await
        .map_err(|err| Failure::message(format!("error: {err}")))?;
    let mut out = String::new();
    if let Some(strict) = update.strict_affinity {
        out.push_str(&format!("Successfully set StrictAffinity to: {strict}\n"));
    }
    if let Some(max) = update.max_blocks_per_host {
        out.push_str(&format!("Successfully set MaxBlocksPerHost to: {max}\n"));
    }
    if let Some(persistence) = &update.kube_virt_vm_address_persistence {
        out.push_str(&format!(
            "Successfully set KubeVirtVMAddressPersistence to: {persistence}\n"
        ));
    }
    if let Some(seconds) = update.ip_cooldown_seconds {
        out.push_str(&format!(
            "Successfully set IPCooldownSeconds to: {seconds}\n"
        ));
    }
    Ok(out)
}

/// `ShowBorrowedDetails`'s table (its header).
pub(crate) fn borrowed_table() -> Table {
    Table::new(&[
        "IP",
        "BORROWING-NODE",
        "BLOCK",
        "BLOCK OWNER",
        "TYPE",
        "ALLOCATED-TO",
    ])
}

/// `ShowBlockUtilization`'s table: the header, number columns aligned right.
pub(crate) fn utilization_table() -> Table {
    Table::new(&[
        "GROUPING",
        "CIDR",
        "IPS TOTAL",
        "IPS IN USE",
        "IPS RESERVED",
        "IPS FREE",
    ])
    .align("IPS TOTAL", Align::Right)
    .align("IPS IN USE", Align::Right)
    .align("IPS RESERVED", Align::Right)
    .align("IPS FREE", Align::Right)
}

/// A row's counts (total, in use, reserved, free) as the floats Calico prints them from. Calico
/// holds them in Go `int`s, clamped and overflowing for an IPv6 pool of 2^63 addresses or more;
/// these are the exact counts (see docs/compatibility.md), the same for any smaller pool.
fn figures(capacity: u128, in_use: i128, reserved: u128, available: u128) -> [f64; 4] {
    [
        capacity as f64,
        in_use as f64,
        reserved as f64,
        available as f64,
    ]
}

/// One row of it, as `genRow` prints it: `%.5g` of the total and each count with its share.
pub(crate) fn utilization_row(grouping: &str, cidr: String, counts: [f64; 4]) -> Vec<String> {
    let [capacity, in_use, reserved, available] = counts;
    let with_percentage = |n: f64| count_and_percent(n, capacity);
    vec![
        grouping.to_string(),
        cidr,
        go_g5(capacity),
        with_percentage(in_use),
        with_percentage(reserved),
        with_percentage(available),
    ]
}

/// Go's `strconv.Atoi` error text for `text` (calicoctl prints it verbatim).
fn atoi(text: &str) -> Result<i64, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {text:?}: invalid syntax"));
    }
    text.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {text:?}: value out of range"))
}

/// `calicoctl ipam split NUMBER (--cidr CIDR | --name NAME)`.
pub async fn split(args: &IpamSplitArgs, connection: &Connection) -> Result<String, Failure> {
    let parts = atoi(&args.number).map_err(|err| {
        Failure::message(format!(
            "error reading number to split IP pools into. {} is not a valid number: {err}",
            args.number
        ))
    })?;
    // Calico looks the pool up by name when one is given, else by CIDR.
    let pool = if args.name.is_empty() {
        PoolRef::Cidr(args.cidr.clone())
    } else {
        PoolRef::Name(args.name.clone())
    };
    // A negative count is no power of two; Calico says so with the number as given.
    let parts_u64 = u64::try_from(parts).unwrap_or(0);
    let outcome = split_pool(&connection.client, &pool, parts_u64)
        .await
        .map_err(|err| match err {
            calico_ipam::SplitError::Split { cidr, .. } if parts_u64 == 0 => Failure::message(
                format!(
                    "error splitting the CIDR {cidr} into {parts} CIDRs: number to split CIDR into is not a valid power of 2: {parts}"
                ),
            ),
            other => Failure::message(other.to_string()),
        })?;
    // Calico's own lines, including the missing newlines after the first and last.
    let mut out = format!(
        "IP Pool {} was successfully split into {} smaller pools.",
        outcome.old_name, parts
    );
    for pool in &outcome.created {
        out.push_str(&format!(
            "Created {} with CIDR {}.\n",
            pool.metadata.name, pool.spec.cidr
        ));
    }
    out.push_str("Please refer to the documentation for final steps.");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::atoi;

    #[test]
    fn atoi_words_errors_as_go() {
        assert_eq!(atoi("4"), Ok(4));
        assert_eq!(atoi("+4"), Ok(4));
        assert_eq!(
            atoi("four").unwrap_err(),
            "strconv.Atoi: parsing \"four\": invalid syntax"
        );
        assert_eq!(
            atoi("99999999999999999999").unwrap_err(),
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range"
        );
        assert_eq!(
            atoi("").unwrap_err(),
            "strconv.Atoi: parsing \"\": invalid syntax"
        );
    }
}
