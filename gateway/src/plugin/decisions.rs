//! Checks a sampler's answer (`decisions`: one verdict per span or per trace, and the
//! policies verdicts name) and applies it: head verdicts drop spans from the request,
//! tail verdicts become the host's per-trace verdicts.

use super::bindings::wit;
use super::edits::{EditScratch, InvalidAnswer, drop_spans};
use crate::model::{ExportTraceServiceRequest, TailVerdict};

/// Refuses an answer without one verdict per `unit` (`expected` of them) or with a
/// verdict naming a policy the answer does not list.
pub(super) fn check_decisions(
    decisions: &wit::Decisions,
    expected: usize,
    unit: &str,
) -> Result<(), InvalidAnswer> {
    let verdicts = decisions.verdicts.len();
    if verdicts != expected {
        return Err(InvalidAnswer(format!(
            "{verdicts} verdicts for a batch of {expected} {unit}"
        )));
    }
    let policies = decisions.policies.len();
    if let Some((position, verdict)) = decisions
        .verdicts
        .iter()
        .enumerate()
        .find(|(_, verdict)| usize::from(**verdict) > policies)
    {
        return Err(InvalidAnswer(format!(
            "verdict {position} keeps by policy {verdict}, but the answer lists {policies} policies"
        )));
    }
    Ok(())
}

/// Head decisions: one verdict per span, in order; returns how many spans were dropped.
pub(super) fn apply_decisions(
    request: &mut ExportTraceServiceRequest,
    decisions: &wit::Decisions,
    span_count: usize,
    scratch: &mut EditScratch,
) -> Result<usize, InvalidAnswer> {
    check_decisions(decisions, span_count, "spans")?;
    if !decisions.verdicts.contains(&0) {
        return Ok(0);
    }
    scratch.dropped.clear();
    scratch
        .dropped
        .extend(decisions.verdicts.iter().map(|verdict| *verdict == 0));
    Ok(drop_spans(request, &scratch.dropped))
}

/// Tail decisions (checked): one verdict per trace, the policy that kept it named.
pub(super) fn tail_verdict(decisions: &wit::Decisions, position: usize) -> TailVerdict {
    match decisions.verdicts.get(position).copied().unwrap_or(0) {
        0 => TailVerdict::Drop,
        verdict => TailVerdict::Keep {
            policy: decisions
                .policies
                .get(usize::from(verdict) - 1)
                .cloned()
                .unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::columns::tests::sample_request;

    fn decisions(verdicts: &[u16], policies: &[&str]) -> wit::Decisions {
        wit::Decisions {
            verdicts: verdicts.to_vec(),
            policies: policies.iter().map(|policy| (*policy).to_owned()).collect(),
        }
    }

    fn names(request: &ExportTraceServiceRequest) -> Vec<&str> {
        request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|span| span.name.as_str())
            .collect()
    }

    #[test]
    fn decisions_drop_spans_and_empty_containers() {
        let mut request = sample_request();
        let mut scratch = EditScratch::default();
        let error =
            apply_decisions(&mut request, &decisions(&[1], &["p"]), 3, &mut scratch).unwrap_err();
        assert!(
            error.0.contains("1 verdicts for a batch of 3 spans"),
            "{error}"
        );
        assert_eq!(request, sample_request());
        let dropped = apply_decisions(
            &mut request,
            &decisions(&[0, 1, 0], &["p"]),
            3,
            &mut scratch,
        )
        .unwrap();
        assert_eq!(dropped, 2);
        assert_eq!(request.resource_spans.len(), 1);
        assert_eq!(names(&request), ["SELECT"]);
        assert_eq!(
            apply_decisions(&mut request, &decisions(&[1], &["p"]), 1, &mut scratch).unwrap(),
            0
        );
    }

    #[test]
    fn a_verdict_past_the_policies_is_invalid() {
        let mut request = sample_request();
        let error = apply_decisions(
            &mut request,
            &decisions(&[1, 3, 0], &["a", "b"]),
            3,
            &mut EditScratch::default(),
        )
        .unwrap_err();
        assert!(
            error
                .0
                .contains("verdict 1 keeps by policy 3, but the answer lists 2 policies"),
            "{error}"
        );
        assert_eq!(request, sample_request());
        // The last policy is addressable; unused policies are fine.
        assert!(check_decisions(&decisions(&[2, 0], &["a", "b", "c"]), 2, "traces").is_ok());
        assert!(check_decisions(&decisions(&[1], &[]), 1, "traces").is_err());
    }

    #[test]
    fn tail_verdicts_name_their_policy() {
        let answer = decisions(&[0, 2, 1], &["errors", "slow"]);
        assert_eq!(tail_verdict(&answer, 0), TailVerdict::Drop);
        assert_eq!(
            tail_verdict(&answer, 1),
            TailVerdict::Keep {
                policy: "slow".to_owned()
            }
        );
        assert_eq!(
            tail_verdict(&answer, 2),
            TailVerdict::Keep {
                policy: "errors".to_owned()
            }
        );
    }
}
