//! Runs the README's five-minute tour, command by command, and compares each output with the
//! README's, so the README can never drift from what calicoctl does.

mod common;

#[test]
fn the_readme_tour_works_as_shown() {
    let store = common::Store::new();
    common::tour::run(|| store.calicoctl());
}

/// The same tour against a real etcd (Debian's etcd-server).
#[test]
fn the_readme_tour_works_as_shown_on_etcd() {
    let etcd = common::Etcd::new();
    common::tour::run(|| etcd.calicoctl());
}
