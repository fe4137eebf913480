//! One self-contained HTML page for sharing a run: the summary table, how each
//! breaker met each episode, and the picture (inline SVG). No script, no
//! external file: it opens anywhere, and the same report gives the same bytes.

use std::fmt::Write as _;

use crate::chart;
use crate::error::Error;
use crate::report::Report;

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#212121}\
table{border-collapse:collapse;margin:12px 0}\
th,td{border:1px solid #bdbdbd;padding:4px 8px}\
td{text-align:right}td:first-child,th:first-child{text-align:left}\
th{background:#eeeeee}caption{text-align:left;font-weight:bold;padding:4px 0}\
p.note{color:#616161;font-size:90%}";

/// The report as an HTML page.
pub fn page(report: &Report) -> Result<String, Error> {
    let svg = chart::svg(report)?;
    let title = if report.description.is_empty() {
        "seawall simulate"
    } else {
        &report.description
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    let _ = writeln!(
        out,
        "<p class=\"note\">seed {}, {} s of traffic, timeline step {} s. Same inputs and seed, same report.</p>",
        report.seed, report.duration_s, report.step_s
    );
    table(
        &mut out,
        "summary",
        "What each configuration did",
        &Report::SUMMARY_COLUMNS.map(str::to_string),
        &report.summary_rows(),
    );
    out.push_str(
        "<p class=\"note\">Calls end succeeded, failed (the dependency's error or a timeout) or \
         rejected (a policy refused the last attempt). <em>To dependency</em>: attempts that \
         reached it, retries included. <em>Failures spared</em>: refused attempts it would have \
         failed; <em>successes lost</em>: refused attempts it would have answered. <em>Detect</em> \
         and <em>recover</em>: of the first episode. <em>Retry load</em>: retries per call.</p>\n",
    );
    if !report.episodes.is_empty() {
        let mut headers = vec!["configuration".to_string()];
        let mut rows = Vec::new();
        for e in &report.episodes {
            headers.push(format!("{} {}–{} s: detect", e.kind, e.start_s, e.end_s));
            headers.push("recover".to_string());
        }
        for c in report
            .configurations
            .iter()
            .filter(|c| !c.episodes.is_empty())
        {
            let mut row = vec![c.name.clone()];
            for d in &c.episodes {
                row.push(d.detect_s.map_or("-".into(), |s| format!("{s:.3} s")));
                row.push(d.recover_s.map_or("-".into(), |s| format!("{s:.3} s")));
            }
            rows.push(row);
        }
        if !rows.is_empty() {
            table(
                &mut out,
                "episodes",
                "How each breaker met each episode",
                &headers,
                &rows,
            );
        }
    }
    out.push_str("<h2>Over time</h2>\n<figure>\n");
    out.push_str(&svg);
    out.push_str("</figure>\n</body>\n</html>\n");
    Ok(out)
}

fn table(out: &mut String, id: &str, caption: &str, headers: &[String], rows: &[Vec<String>]) {
    let _ = write!(
        out,
        "<table id=\"{id}\">\n<caption>{}</caption>\n<tr>",
        escape(caption)
    );
    for h in headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}
