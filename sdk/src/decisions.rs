//! A sampler's answers: one [`Decision`] per span (head) or per trace (tail), encoded as
//! the contract's `decisions` (one `u16` verdict each and the distinct policy names:
//! `wit/README.md`, "Decisions").

use std::collections::HashMap;

use crate::bindings::types;

/// Keep or drop one span (head) or trace (tail).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    Drop,
    /// Keep, naming the policy that kept it (tail sampling records it on the spans as
    /// `sampling.policy`; head keeps are not recorded, so "" will do).
    Keep(String),
}

impl Decision {
    /// `Keep` with no policy name.
    pub fn keep() -> Self {
        Decision::Keep(String::new())
    }
}

/// Decisions as the contract carries them: verdict 0 drops, verdict i keeps with
/// `policies[i - 1]`; each policy name is listed once.
///
/// More than 65,535 distinct policy names in one answer cannot be encoded: that is an
/// error (no sampler has that many policies).
pub fn encode(decisions: &[Decision]) -> Result<types::Decisions, String> {
    let mut verdicts = Vec::with_capacity(decisions.len());
    let mut policies = Policies::default();
    // Decisions mostly repeat the previous policy: checked before the list.
    let mut last: Option<(&str, u16)> = None;
    for decision in decisions {
        let verdict = match decision {
            Decision::Drop => 0,
            Decision::Keep(policy) => {
                let verdict = match last {
                    Some((name, verdict)) if name == policy => verdict,
                    _ => policies.verdict(policy)?,
                };
                last = Some((policy, verdict));
                verdict
            }
        };
        verdicts.push(verdict);
    }
    Ok(types::Decisions {
        verdicts,
        policies: policies.into_names(),
    })
}

/// The distinct policy names of an answer and their verdicts. Searched linearly while
/// few (samplers name a handful of policies: no hashing, no map to allocate), through a
/// map past that.
#[derive(Default)]
struct Policies<'a> {
    /// In verdict order (verdict i is `listed[i - 1]`).
    listed: Vec<&'a str>,
    /// Filled once `listed` outgrows [`LINEAR_POLICIES`].
    index: HashMap<&'a str, u16>,
}

/// Policies searched linearly at most.
const LINEAR_POLICIES: usize = 16;

impl<'a> Policies<'a> {
    /// The verdict keeping with `policy`, listing it if it is new.
    fn verdict(&mut self, policy: &'a str) -> Result<u16, String> {
        let known = if self.index.is_empty() {
            let position = self.listed.iter().position(|&name| name == policy);
            position.map(|at| at as u16 + 1)
        } else {
            self.index.get(policy).copied()
        };
        if let Some(verdict) = known {
            return Ok(verdict);
        }
        let verdict = u16::try_from(self.listed.len() + 1)
            .map_err(|_| "more than 65535 distinct policy names in one answer".to_owned())?;
        self.listed.push(policy);
        if !self.index.is_empty() {
            self.index.insert(policy, verdict);
        } else if self.listed.len() > LINEAR_POLICIES {
            self.index = (1..)
                .zip(&self.listed)
                .map(|(verdict, &name)| (name, verdict))
                .collect();
        }
        Ok(verdict)
    }

    fn into_names(self) -> Vec<String> {
        self.listed.into_iter().map(str::to_owned).collect()
    }
}

/// The decisions of an answer, or why it is malformed (a verdict naming no policy).
pub fn decode(decisions: &types::Decisions) -> Result<Vec<Decision>, String> {
    decisions
        .verdicts
        .iter()
        .enumerate()
        .map(|(position, &verdict)| match verdict {
            0 => Ok(Decision::Drop),
            keep => decisions
                .policies
                .get(usize::from(keep) - 1)
                .map(|policy| Decision::Keep(policy.clone()))
                .ok_or_else(|| {
                    format!(
                        "verdict {position} is {keep}, but the answer lists {} policies",
                        decisions.policies.len()
                    )
                }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(policy: &str) -> Decision {
        Decision::Keep(policy.to_owned())
    }

    #[test]
    fn policies_are_listed_once_in_first_appearance_order() {
        let decisions = [
            keep("b"),
            Decision::Drop,
            keep("a"),
            keep("b"),
            keep("b"),
            keep(""),
        ];
        let encoded = encode(&decisions).unwrap();
        assert_eq!(encoded.verdicts, [1, 0, 2, 1, 1, 3]);
        assert_eq!(encoded.policies, ["b", "a", ""]);
        assert_eq!(decode(&encoded).unwrap(), decisions);
        assert_eq!(Decision::keep(), keep(""));
    }

    #[test]
    fn a_verdict_past_the_policies_does_not_decode() {
        let answer = types::Decisions {
            verdicts: vec![0, 2],
            policies: vec!["only".into()],
        };
        assert_eq!(
            decode(&answer),
            Err("verdict 1 is 2, but the answer lists 1 policies".to_owned())
        );
    }

    #[test]
    fn many_policies_are_found_again_past_the_linear_search() {
        let names: Vec<String> = (0..40).map(|n| format!("p{n}")).collect();
        let decisions: Vec<Decision> = names
            .iter()
            .chain(names.iter().rev())
            .map(|name| keep(name))
            .collect();
        let encoded = encode(&decisions).unwrap();
        assert_eq!(encoded.policies, names);
        assert_eq!(
            encoded.verdicts[..40],
            encoded.verdicts[40..]
                .iter()
                .rev()
                .copied()
                .collect::<Vec<_>>()[..]
        );
        assert_eq!(decode(&encoded).unwrap(), decisions);
    }

    #[test]
    fn too_many_distinct_policies_are_an_error() {
        let decisions: Vec<Decision> = (0..=65_535).map(|n| keep(&n.to_string())).collect();
        assert!(encode(&decisions).is_err());
        assert!(encode(&decisions[..65_535]).is_ok());
    }
}
