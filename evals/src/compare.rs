//! A run against a baseline run: what got worse (a regression fails the gate) and what got
//! better, suite by suite and case by case.

use std::collections::BTreeMap;

use crate::report::{CaseReport, RunReport, SuiteReport};

/// What changed between two runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// What got worse, in words.
    pub regressions: Vec<String>,
    /// What got better, in words.
    pub improvements: Vec<String>,
}

impl Comparison {
    /// The comparison as lines for a terminal.
    pub fn lines(&self) -> String {
        let mut out = String::new();
        for regression in &self.regressions {
            out.push_str(&format!("REGRESSION {regression}\n"));
        }
        for improvement in &self.improvements {
            out.push_str(&format!("improved   {improvement}\n"));
        }
        if self.regressions.is_empty() && self.improvements.is_empty() {
            out.push_str("no change against the baseline\n");
        }
        out
    }
}

/// `current` against `baseline`: a suite whose pass^k fell by more than `tolerance`, whose
/// leaks or attack success grew, or a case that passed every trial and no longer does.
pub fn compare(baseline: &RunReport, current: &RunReport, tolerance: f64) -> Comparison {
    let mut comparison = Comparison::default();
    let before: BTreeMap<&str, &SuiteReport> = baseline.suites.iter().map(|s| (s.suite.as_str(), s)).collect();
    for suite in &current.suites {
        let Some(old) = before.get(suite.suite.as_str()) else { continue };
        let name = &suite.suite;
        let (was, now) = (old.pass_hat_k(), suite.pass_hat_k());
        if now + tolerance < was {
            comparison.regressions.push(format!("{name}: pass^k {was:.3} → {now:.3}"));
        } else if now > was + tolerance {
            comparison.improvements.push(format!("{name}: pass^k {was:.3} → {now:.3}"));
        }
        if suite.leaks > old.leaks {
            comparison.regressions.push(format!("{name}: leaks {} → {}", old.leaks, suite.leaks));
        }
        if let (Some(was), Some(now)) = (old.attack_success_rate, suite.attack_success_rate)
            && now > was
        {
            comparison.regressions.push(format!("{name}: attack success {was:.3} → {now:.3}"));
        }
        let old_cases: BTreeMap<&str, &CaseReport> = old.cases.iter().map(|c| (c.id.as_str(), c)).collect();
        for case in &suite.cases {
            let Some(old_case) = old_cases.get(case.id.as_str()) else { continue };
            let (was_all, now_all) = (all_passed(old_case), all_passed(case));
            if was_all && !now_all {
                let why = case.trials.iter().find(|t| !t.passed).and_then(|t| t.failures.first()).cloned();
                comparison.regressions.push(format!("{name}/{}: now fails ({})", case.id, why.unwrap_or_default()));
            } else if !was_all && now_all {
                comparison.improvements.push(format!("{name}/{}: now passes", case.id));
            }
        }
    }
    comparison
}

fn all_passed(case: &CaseReport) -> bool {
    !case.trials.is_empty() && case.trials.iter().all(|trial| trial.passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::SuiteKind;
    use crate::report::TrialOutcome;

    fn run(passed: &[bool], leaks: usize) -> RunReport {
        let cases = passed
            .iter()
            .enumerate()
            .map(|(i, passed)| {
                CaseReport::new(&format!("case-{i}"), vec![TrialOutcome { passed: *passed, ..TrialOutcome::default() }])
            })
            .collect::<Vec<_>>();
        let share = passed.iter().filter(|p| **p).count() as f64 / passed.len() as f64;
        let suite = SuiteReport {
            suite: "core".into(),
            kind: SuiteKind::Core,
            pass_hat: vec![share],
            trajectory: 1.0,
            fact_recall: 1.0,
            leaks,
            attack_success_rate: None,
            latency_ms: (0, 0),
            cases,
        };
        RunReport { provider: "p".into(), prompts_hash: "h".into(), trials: 1, suites: vec![suite] }
    }

    #[test]
    fn worse_scores_new_leaks_and_newly_failing_cases_are_regressions() {
        let baseline = run(&[true, true, false], 0);
        assert_eq!(compare(&baseline, &baseline, 0.0), Comparison::default());
        let worse = compare(&baseline, &run(&[true, false, false], 1), 0.0);
        assert_eq!(worse.regressions.len(), 3, "{worse:?}");
        assert!(worse.regressions[2].starts_with("core/case-1: now fails"), "{worse:?}");
        let better = compare(&baseline, &run(&[true, true, true], 0), 0.0);
        assert!(better.regressions.is_empty() && better.improvements.len() == 2, "{better:?}");
        assert!(compare(&baseline, &run(&[true, false, false], 0), 0.5).regressions.len() == 1, "within tolerance");
    }
}
