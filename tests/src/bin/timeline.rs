//! Prints the guide's timeline picture (SVG) from a fresh run of the core.

fn main() {
    print!(
        "{}",
        seawall_tests::timeline::svg(&seawall_tests::timeline::run())
    );
}
