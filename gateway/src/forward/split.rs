//! A request split by the upstream owning each span's trace: every part keeps the
//! resources and scopes of its spans, in the original order.

use crate::model::{ExportTraceServiceRequest, ResourceSpans, ScopeSpans};

/// `parts[owner]`: the spans of `request` whose trace `owner_of` gives to `owner`
/// (`None` when it owns none). Spans `owner_of` has no owner for are left out.
pub(crate) fn split_by_owner(
    request: &ExportTraceServiceRequest,
    owners: usize,
    mut owner_of: impl FnMut(&[u8]) -> Option<usize>,
) -> Vec<Option<ExportTraceServiceRequest>> {
    let mut parts: Vec<Option<ExportTraceServiceRequest>> = vec![None; owners];
    for resource_spans in &request.resource_spans {
        // Index, in each part, of this resource's entry (created on its first span).
        let mut resource_at: Vec<Option<usize>> = vec![None; owners];
        for scope_spans in &resource_spans.scope_spans {
            let mut scope_at: Vec<Option<usize>> = vec![None; owners];
            for span in &scope_spans.spans {
                let Some(owner) = owner_of(&span.trace_id).filter(|o| *o < owners) else {
                    continue;
                };
                let part = parts[owner].get_or_insert_with(ExportTraceServiceRequest::default);
                let resource_index = *resource_at[owner].get_or_insert_with(|| {
                    part.resource_spans.push(ResourceSpans {
                        resource: resource_spans.resource.clone(),
                        scope_spans: Vec::new(),
                        schema_url: resource_spans.schema_url.clone(),
                    });
                    part.resource_spans.len() - 1
                });
                let resource = &mut part.resource_spans[resource_index];
                let scope_index = *scope_at[owner].get_or_insert_with(|| {
                    resource.scope_spans.push(ScopeSpans {
                        scope: scope_spans.scope.clone(),
                        spans: Vec::new(),
                        schema_url: scope_spans.schema_url.clone(),
                    });
                    resource.scope_spans.len() - 1
                });
                resource.scope_spans[scope_index].spans.push(span.clone());
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InstrumentationScope, Resource, Span};

    fn span(trace: u8, id: u8) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            ..Default::default()
        }
    }

    #[test]
    fn parts_keep_their_resources_and_scopes() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource::default()),
                schema_url: "r".to_owned(),
                scope_spans: vec![
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "a".to_owned(),
                            ..Default::default()
                        }),
                        spans: vec![span(1, 1), span(2, 2), span(1, 3)],
                        schema_url: String::new(),
                    },
                    ScopeSpans {
                        scope: None,
                        spans: vec![span(2, 4)],
                        schema_url: String::new(),
                    },
                ],
            }],
        };
        let parts = split_by_owner(&request, 3, |trace| Some(usize::from(trace[0] - 1)));
        let first = parts[0].as_ref().unwrap();
        assert_eq!(first.resource_spans.len(), 1);
        assert_eq!(first.resource_spans[0].schema_url, "r");
        assert_eq!(first.resource_spans[0].scope_spans.len(), 1);
        let ids: Vec<u8> = first.resource_spans[0].scope_spans[0]
            .spans
            .iter()
            .map(|s| s.span_id[0])
            .collect();
        assert_eq!(ids, [1, 3]);
        let second = parts[1].as_ref().unwrap();
        assert_eq!(second.resource_spans[0].scope_spans.len(), 2);
        assert_eq!(
            second.resource_spans[0].scope_spans[0]
                .scope
                .as_ref()
                .unwrap()
                .name,
            "a"
        );
        assert!(parts[2].is_none());
    }
}
