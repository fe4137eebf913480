//! The picture of the guide ("A breaker through an outage") is what the
//! simulator draws for `sim/scenarios/guide_outage.toml`.

mod support;

#[test]
fn the_committed_picture_matches_a_fresh_run() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/img/breaker-timeline.svg"
    );
    let committed = std::fs::read_to_string(path).expect("docs/img/breaker-timeline.svg exists");
    let fresh = seawall_sim::chart::svg(&support::run("guide_outage.toml")).unwrap();
    assert!(
        committed == fresh,
        "docs/img/breaker-timeline.svg is stale: draw it again with \
         `cargo run -p seawall-sim --bin seawall -- simulate sim/scenarios/guide_outage.toml --quiet --svg docs/img/breaker-timeline.svg`"
    );
}
