//! Builds the test kube-apiserver into its cache (if it is not there yet) and prints its path.
//! `./test` runs this first, so that a build failure stops the run with Go's own message.

fn main() {
    println!(
        "{}",
        calico_test_support::kube_apiserver::binary().display()
    );
}
