//! `calicoctl ipam …`: the IPAM subcommands this calicoctl implements (`split`); the work is
//! done by `calico-ipam`, this module parses and prints as Calico's calicoctl does.

use calico_ipam::{split_pool, PoolRef};

use crate::cli::IpamSplitArgs;
use crate::clientmgr::Connection;
use crate::report::Failure;

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
