//! [`Report`]: the doctor's checklist, for a terminal (✓ ✗ ! marks, colour on a tty) and as
//! JSON for a settings screen.

use std::fmt;

use serde::Serialize;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// As it should be.
    Ok,
    /// It works, but deserves a look (an API key over plain HTTP, a token about to expire).
    Warning,
    /// Not as it should be: the evidence says what, the hint what to do.
    Failed,
    /// Not run, because a check it needs failed ([`Step::skipped_because`] names it).
    Skipped,
}

impl Status {
    /// The mark a terminal shows: `✓`, `!`, `✗`, `○`.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warning => "!",
            Status::Failed => "✗",
            Status::Skipped => "○",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Status::Ok => "\x1b[32m",
            Status::Warning => "\x1b[33m",
            Status::Failed => "\x1b[31m",
            Status::Skipped => "\x1b[2m",
        }
    }
}

/// One check of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Which check, stable across versions: `network.dns`, `auth.azure_identity`, … (the table
    /// in the [module docs](super)).
    pub id: String,
    /// What is checked, as a person reads it.
    pub title: String,
    /// How it came out.
    pub status: Status,
    /// What was seen: the answer, the address, the credential that answered. Never a secret.
    pub evidence: String,
    /// What to do about it, for a failure or a warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// For a skipped check: the id of the failed check it needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
}

impl Step {
    /// A check that passed.
    pub fn ok(id: &str, title: &str, evidence: impl Into<String>) -> Step {
        Step::new(id, title, Status::Ok, evidence.into(), None)
    }

    /// A check that works but deserves a look.
    pub fn warning(
        id: &str,
        title: &str,
        evidence: impl Into<String>,
        hint: impl Into<String>,
    ) -> Step {
        Step::new(
            id,
            title,
            Status::Warning,
            evidence.into(),
            Some(hint.into()),
        )
    }

    /// A check that failed.
    pub fn failed(
        id: &str,
        title: &str,
        evidence: impl Into<String>,
        hint: impl Into<String>,
    ) -> Step {
        Step::new(
            id,
            title,
            Status::Failed,
            evidence.into(),
            Some(hint.into()),
        )
    }

    /// A check that failed with `err`: its message as the evidence, its hint.
    pub fn from_error(id: &str, title: &str, err: &crate::Error) -> Step {
        Step::failed(id, title, err.message(), err.hint())
    }

    fn new(id: &str, title: &str, status: Status, evidence: String, hint: Option<String>) -> Step {
        Step {
            id: id.to_owned(),
            title: title.to_owned(),
            status,
            evidence,
            hint,
            skipped_because: None,
        }
    }
}

/// What the doctor found: the checks in the order they ran, each with its evidence and hint.
///
/// `Display` gives the plain checklist; [`render`](Report::render) adds colour;
/// [`to_json`](Report::to_json) is for a settings screen. No secret is ever part of it: keys
/// and tokens are never quoted (a key shows as `sk-…abcd` at most).
///
/// ```
/// use cline_provider::doctor::{Report, Status, Step};
/// let report = Report::new("Demo", vec![
///     Step::ok("network.url", "The base URL parses", "http://127.0.0.1:8000/v1"),
///     Step::failed("network.tcp", "TCP connects", "connection refused", "Start the server"),
/// ]);
/// assert_eq!(report.first_failure().map(|s| s.id.as_str()), Some("network.tcp"));
/// assert!(report.to_string().contains("✗ TCP connects"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What was checked: the connection mode, endpoint and model, or the draft policy.
    pub subject: String,
    /// The checks, in order.
    pub steps: Vec<Step>,
}

impl Report {
    /// A report of `steps`.
    pub fn new(subject: impl Into<String>, steps: Vec<Step>) -> Report {
        Report {
            subject: subject.into(),
            steps,
        }
    }

    /// The check `id`, if it ran (or was skipped).
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The first failed check: the cause to fix first.
    pub fn first_failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.status == Status::Failed)
    }

    /// Whether any check failed.
    pub fn has_failures(&self) -> bool {
        self.first_failure().is_some()
    }

    /// The report as pretty JSON (`{"subject", "steps": [{"id", "title", "status",
    /// "evidence", "hint", "skipped_because"}]}`).
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialization cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The checklist for a terminal, coloured when `colour` is true (use it when stdout is a
    /// tty).
    pub fn render(&self, colour: bool) -> String {
        let (reset, bold, dim) = if colour {
            ("\x1b[0m", "\x1b[1m", "\x1b[2m")
        } else {
            ("", "", "")
        };
        let mut out = format!("{bold}{}{reset}\n", self.subject);
        for step in &self.steps {
            let (on, off) = if colour {
                (step.status.colour(), reset)
            } else {
                ("", "")
            };
            let detail = match &step.skipped_because {
                Some(cause) => format!("skipped: `{cause}` failed"),
                None => step.evidence.clone(),
            };
            out.push_str(&format!(
                "  {on}{}{off} {}: {detail}\n",
                step.status.mark(),
                step.title
            ));
            if let Some(hint) = &step.hint {
                out.push_str(&format!("      {dim}hint: {hint}{reset}\n"));
            }
        }
        match self.first_failure() {
            Some(cause) => out.push_str(&format!(
                "{bold}First cause:{reset} {} ({})\n",
                cause.title, cause.id
            )),
            None => {
                let warnings = self
                    .steps
                    .iter()
                    .filter(|s| s.status == Status::Warning)
                    .count();
                if warnings == 0 {
                    out.push_str("All checks passed.\n");
                } else {
                    out.push_str(&format!("All checks passed, with {warnings} warning(s).\n"));
                }
            }
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// Builds a [`Report`] in order, skipping the checks whose prerequisites failed.
#[derive(Debug, Default)]
pub(crate) struct Checklist {
    steps: Vec<Step>,
}

impl Checklist {
    pub(crate) fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// The first of `needs` that failed (or was skipped, then its own cause), if any.
    pub(crate) fn blocked(&self, needs: &[&str]) -> Option<String> {
        needs.iter().find_map(|id| {
            let step = self.steps.iter().find(|s| s.id == *id)?;
            match step.status {
                Status::Failed => Some(step.id.clone()),
                Status::Skipped => step.skipped_because.clone(),
                _ => None,
            }
        })
    }

    /// Records `id` as skipped when one of `needs` failed; returns whether it was.
    pub(crate) fn skip_unless(&mut self, id: &str, title: &str, needs: &[&str]) -> bool {
        match self.blocked(needs) {
            Some(cause) => {
                self.steps.push(Step {
                    id: id.to_owned(),
                    title: title.to_owned(),
                    status: Status::Skipped,
                    evidence: String::new(),
                    hint: None,
                    skipped_because: Some(cause),
                });
                true
            }
            None => false,
        }
    }

    pub(crate) fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub(crate) fn into_report(self, subject: String) -> Report {
        Report::new(subject, self.steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut list = Checklist::default();
        list.push(Step::ok("a", "First", "fine"));
        list.push(Step::warning("b", "Second", "plain HTTP", "use https"));
        list.push(Step::failed("c", "Third", "refused", "start it"));
        list.skip_unless("d", "Fourth", &["c"]);
        list.skip_unless("e", "Fifth", &["d"]);
        list.into_report("Subject".into())
    }

    #[test]
    fn skipped_checks_name_the_failure_they_wait_for() {
        let r = report();
        assert_eq!(r.step("d").unwrap().skipped_because.as_deref(), Some("c"));
        // A check behind a skipped one names the real cause, not the skipped one.
        assert_eq!(r.step("e").unwrap().skipped_because.as_deref(), Some("c"));
        assert_eq!(r.first_failure().unwrap().id, "c");
    }

    #[test]
    fn the_checklist_has_marks_and_colour_only_when_asked() {
        let r = report();
        let plain = r.render(false);
        for line in [
            "  ✓ First: fine",
            "  ! Second: plain HTTP",
            "  ✗ Third: refused",
            "      hint: start it",
            "  ○ Fourth: skipped: `c` failed",
            "First cause: Third (c)",
        ] {
            assert!(plain.contains(line), "{line}\n{plain}");
        }
        assert!(!plain.contains('\x1b'));
        let coloured = r.render(true);
        assert!(coloured.contains("\x1b[31m✗\x1b[0m"), "{coloured:?}");
        assert_eq!(r.to_string(), plain);
    }

    #[test]
    fn json_has_the_ids_statuses_and_hints() {
        let v: serde_json::Value = serde_json::from_str(&report().to_json()).unwrap();
        assert_eq!(v["subject"], "Subject");
        assert_eq!(v["steps"][2]["status"], "failed");
        assert_eq!(v["steps"][2]["hint"], "start it");
        assert_eq!(v["steps"][3]["status"], "skipped");
        assert_eq!(v["steps"][3]["skipped_because"], "c");
        assert!(v["steps"][0].get("hint").is_none());
    }
}
