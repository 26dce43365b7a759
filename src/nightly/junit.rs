//! The night as JUnit XML, the format CI systems show: one test case per corpus case,
//! failing on `changed`, erroring on `error`, skipped when `unfinished`.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Status, Summary};
use crate::error::Error;

pub fn render(summary: &Summary) -> Result<String, Error> {
    let mut suite = TestSuite::new("minrepro nightly");
    for case in &summary.cases {
        let message = case.reason.clone().unwrap_or_default();
        let status = match case.status {
            Status::Changed => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(format!("changed: {message}"))
                    .set_type("changed");
                status
            }
            Status::Error => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status
                    .set_message(format!("error: {message}"))
                    .set_type("error");
                status
            }
            Status::Unfinished => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(format!("unfinished: {message}"));
                status
            }
            Status::Reduced | Status::Unchanged | Status::Fixed => TestCaseStatus::success(),
        };
        let mut test = TestCase::new(case.name.clone(), status);
        test.set_classname(format!("corpus.{}", case.mode))
            .set_time(Duration::from_secs_f64(case.wall_s.max(0.0)));
        let minimal = if case.minimal.is_empty() {
            "-".to_string()
        } else {
            case.minimal.join(", ")
        };
        test.set_system_out(format!(
            "status: {}\nminimal: {minimal}\ntrials: {} ({} cache hits)\n{}",
            case.status.name(),
            case.trials,
            case.cache_hits,
            case.attachment
                .as_ref()
                .map(|a| format!("attachment: {}\n", a.display()))
                .unwrap_or_default()
        ));
        suite.add_test_case(test);
    }
    suite.set_time(Duration::from_secs_f64(summary.wall_s.max(0.0)));
    let mut report = Report::new("minrepro");
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|err| Error::infra(format!("cannot write junit.xml: {err}")))
}
