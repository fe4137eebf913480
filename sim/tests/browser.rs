//! The HTML report renders in a real browser: headless Chromium (Debian's
//! `chromium` package, installed by scripts/ci/45-sim.sh, which runs this test)
//! lays it out with its summary table and its picture, and draws it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Chromium from `$CHROMIUM`, or Debian's `chromium` on the path.
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_string())
}

/// Runs headless Chromium on `page` with `args`, in a fresh profile, for at
/// most 120 s; its standard output.
fn headless(dir: &Path, page: &Path, args: &[&str]) -> String {
    let output = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} (apt-get install chromium): {e}",
                chromium()
            )
        });
    assert!(
        output.status.success(),
        "chromium failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seawall-sim-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
#[ignore = "needs Debian's chromium: run by scripts/ci/45-sim.sh"]
fn the_html_report_renders_in_chromium_with_its_table() {
    let report = support::run("retry_storm.toml");
    let dir = scratch();
    let page = dir.join("report.html");
    std::fs::write(&page, seawall_sim::html::page(&report).unwrap()).unwrap();

    // The DOM as the browser built it: the summary table, a row per
    // configuration, and the picture.
    let dom = headless(&dir, &page, &["--dump-dom"]);
    assert!(
        dom.contains("<table id=\"summary\">"),
        "no summary table in:\n{dom}"
    );
    for c in &report.configurations {
        assert!(
            dom.contains(&format!("<td>{}</td>", c.name)),
            "no row for {}",
            c.name
        );
    }
    assert!(
        dom.contains("<td>+200 %</td>"),
        "the storm's retry load is shown"
    );
    assert!(dom.contains("<svg"), "the picture is inline");

    // What it drew: a screenshot, neither empty nor blank.
    let shot = dir.join("shot.png");
    headless(
        &dir,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1100,1400",
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1100, 1400));
    let drawn = pixels
        .chunks(info.line_size / info.width as usize)
        .filter(|p| p[..3].iter().any(|&c| c < 200))
        .count();
    assert!(
        drawn > 20_000,
        "only {drawn} dark pixels: the page did not render"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
