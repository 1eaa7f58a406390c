//! A run as JUnit XML, for CI systems that show test results: a test suite per eval suite, a
//! test case per eval case, failing when any of its trials failed.

use std::fmt::Write;

use crate::report::RunReport;

/// `text` safe inside XML text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && !matches!(c, '\n' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// The report as a JUnit XML document.
pub fn junit(report: &RunReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let cases: usize = report.suites.iter().map(|suite| suite.cases.len()).sum();
    let failures = |suite: &crate::report::SuiteReport| {
        suite.cases.iter().filter(|case| case.successes() < case.trials.len() || case.trials.is_empty()).count()
    };
    let failed: usize = report.suites.iter().map(failures).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"boutique-evals\" tests=\"{cases}\" failures=\"{failed}\" provider=\"{}\" prompts=\"{}\">",
        escape(&report.provider),
        escape(&report.prompts_hash)
    );
    for suite in &report.suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
            escape(&suite.suite),
            suite.cases.len(),
            failures(suite)
        );
        for case in &suite.cases {
            let seconds: f64 = case.trials.iter().map(|trial| trial.latency_ms as f64 / 1000.0).sum();
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{seconds:.3}\"",
                escape(&suite.suite),
                escape(&case.id)
            );
            match case.trials.iter().find(|trial| !trial.passed) {
                None if !case.trials.is_empty() => out.push_str("/>\n"),
                failed => {
                    let why = failed.and_then(|trial| trial.failures.first()).map_or("no trial ran", String::as_str);
                    let detail = failed.map(|trial| trial.failures.join("\n")).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{} of {} trials passed: {}\">{}</failure>\n    </testcase>",
                        case.successes(),
                        case.trials.len(),
                        escape(why),
                        escape(&detail)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::SuiteKind;
    use crate::report::{CaseReport, SuiteReport, TrialOutcome};

    #[test]
    fn failing_cases_carry_their_reasons_escaped() {
        let trial = |passed: bool| TrialOutcome {
            passed,
            failures: if passed { vec![] } else { vec!["missing fact <\"x\" & y>".into()] },
            ..TrialOutcome::default()
        };
        let suite = SuiteReport {
            suite: "core".into(),
            kind: SuiteKind::Core,
            pass_hat: vec![0.5],
            trajectory: 1.0,
            fact_recall: 0.5,
            leaks: 0,
            attack_success_rate: None,
            latency_ms: (0, 0),
            cases: vec![CaseReport::new("good", vec![trial(true)]), CaseReport::new("bad", vec![trial(false)])],
        };
        let xml = junit(&RunReport { provider: "p".into(), prompts_hash: "h".into(), trials: 1, suites: vec![suite] });
        assert!(xml.contains("<testsuites name=\"boutique-evals\" tests=\"2\" failures=\"1\""), "{xml}");
        assert!(xml.contains("<testcase classname=\"core\" name=\"good\" time=\"0.000\"/>"), "{xml}");
        assert!(xml.contains("0 of 1 trials passed: missing fact &lt;&quot;x&quot; &amp; y&gt;"), "{xml}");
    }
}
