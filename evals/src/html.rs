//! A run as one static HTML page: the scores, a chart of pass^1 and pass^k per suite, a chart
//! of conversation times, and every failing case with its answers. No script, no network.

use std::fmt::Write;

use crate::junit::escape;
use crate::report::{RunReport, SuiteReport};

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#1f2933}\
h1{font-size:1.5rem}table{border-collapse:collapse;width:100%;margin:1rem 0}\
th,td{border-bottom:1px solid #d9e2ec;padding:.35rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}\
.fail{color:#b42318}.pass{color:#2f855a}figure{margin:1.5rem 0}figcaption{color:#52606d;font-size:.9rem}\
details{margin:.4rem 0}pre{white-space:pre-wrap;background:#f5f7fa;padding:.5rem}";

/// Bars of `values` (0 to 1) per suite, two series side by side.
fn score_chart(suites: &[SuiteReport]) -> String {
    let (row, width, left) = (34, 600, 190);
    let height = suites.len() * row + 30;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"pass^1 and pass^k per suite\" width=\"{}\" height=\"{height}\">",
        left + width + 60
    );
    for (i, suite) in suites.iter().enumerate() {
        let y = i * row + 10;
        let first = suite.pass_hat_1();
        let last = suite.pass_hat_k();
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>\
             <rect class=\"pass1\" x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"12\" fill=\"#9fb3c8\"><title>pass^1 {first:.3}</title></rect>\
             <rect class=\"passk\" x=\"{left}\" y=\"{}\" width=\"{:.1}\" height=\"12\" fill=\"#2f855a\"><title>pass^k {last:.3}</title></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{last:.3}</text>",
            y + 16,
            escape(&suite.suite),
            first * width as f64,
            y + 13,
            last * width as f64,
            left + width + 6,
            y + 24,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Bars of the median and worst conversation time per suite.
fn latency_chart(suites: &[SuiteReport]) -> String {
    let (row, width, left) = (26, 600, 190);
    let worst = suites.iter().map(|suite| suite.latency_ms.1).max().unwrap_or(1).max(1) as f64;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"conversation time per suite\" width=\"{}\" height=\"{}\">",
        left + width + 90,
        suites.len() * row + 10
    );
    for (i, suite) in suites.iter().enumerate() {
        let y = i * row + 6;
        let (median, max) = suite.latency_ms;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"14\" fill=\"#d9e2ec\"><title>max {max} ms</title></rect>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"14\" fill=\"#486581\"><title>median {median} ms</title></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{median} / {max} ms</text>",
            y + 12,
            escape(&suite.suite),
            max as f64 / worst * width as f64,
            median as f64 / worst * width as f64,
            left + width + 6,
            y + 12,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The report as an HTML page.
pub fn html(report: &RunReport) -> String {
    let k = report.trials;
    let mut page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Eval report: {}</title><style>{STYLE}</style></head><body>\
         <h1>Eval report</h1><p>Provider <b>{}</b>, prompts <code>{}</code>, {k} trial(s) per case.</p>",
        escape(&report.provider),
        escape(&report.provider),
        escape(&report.prompts_hash),
    );
    let _ = write!(
        page,
        "<table><thead><tr><th>suite</th><th>cases</th><th>pass^1</th><th>pass^{k}</th><th>trajectory</th>\
         <th>fact recall</th><th>leaks</th><th>attack success</th></tr></thead><tbody>"
    );
    for suite in &report.suites {
        let class = if suite.pass_hat_k() >= 1.0 && suite.leaks == 0 { "pass" } else { "fail" };
        let attack = suite.attack_percent("–");
        let _ = write!(
            page,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{attack}</td></tr>",
            escape(&suite.suite),
            suite.cases.len(),
            suite.pass_hat_1(),
            suite.pass_hat_k(),
            suite.trajectory,
            suite.fact_recall,
            suite.leaks,
        );
    }
    page.push_str("</tbody></table>");
    let _ = write!(
        page,
        "<figure>{}<figcaption>pass^1 (grey) and pass^{k} (green) per suite</figcaption></figure>\
         <figure>{}<figcaption>median and worst conversation time per suite</figcaption></figure>",
        score_chart(&report.suites),
        latency_chart(&report.suites),
    );
    page.push_str("<h2>Failing cases</h2>");
    let mut any = false;
    for suite in &report.suites {
        for case in &suite.cases {
            let Some(trial) = case.trials.iter().find(|trial| !trial.passed) else { continue };
            any = true;
            let _ = write!(
                page,
                "<details><summary class=\"fail\">{}/{}: {} of {} trials passed</summary><pre>{}\n\ntools: {}\n\n{}</pre></details>",
                escape(&suite.suite),
                escape(&case.id),
                case.successes(),
                case.trials.len(),
                escape(&trial.failures.join("\n")),
                escape(&trial.tools.join(", ")),
                escape(&trial.answers.join("\n---\n")),
            );
        }
    }
    if !any {
        page.push_str("<p class=\"pass\">None: every trial of every case passed.</p>");
    }
    page.push_str("</body></html>\n");
    page
}
