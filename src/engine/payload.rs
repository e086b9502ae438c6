//! Payloads (JSON objects) and payload filters.

use std::collections::HashSet;

use serde_json::{Map, Value};

/// A point's payload: a JSON object.
pub type Payload = Map<String, Value>;

/// Filters nest (a condition holding a sub-filter) at most this deep.
pub const MAX_FILTER_DEPTH: usize = 8;

/// Numeric bounds; unset bounds are open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Range {
    pub gt: Option<f64>,
    pub gte: Option<f64>,
    pub lt: Option<f64>,
    pub lte: Option<f64>,
}

impl Range {
    pub fn contains(&self, x: f64) -> bool {
        self.gt.is_none_or(|b| x > b)
            && self.gte.is_none_or(|b| x >= b)
            && self.lt.is_none_or(|b| x < b)
            && self.lte.is_none_or(|b| x <= b)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// The field equals the value (numbers compare as doubles).
    Equals(Value),
    /// The field is a number within the range.
    Range(Range),
    /// The field equals one of the values.
    Any(Vec<Value>),
    /// The field is missing, null or an empty list.
    IsEmpty,
    /// The point's id is one of these (the key is ignored).
    HasId(HashSet<String>),
    /// The field is a string holding every one of these words (lower case).
    Text(Vec<String>),
    /// A nested filter (the key is ignored).
    Filter(Box<Filter>),
}

/// A test on one payload field; `key` is dotted for nested objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub key: String,
    pub matches: Match,
}

/// All `must`, at least one `should` (if any), no `must_not`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub must: Vec<Condition>,
    pub should: Vec<Condition>,
    pub must_not: Vec<Condition>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.must.is_empty() && self.should.is_empty() && self.must_not.is_empty()
    }

    /// Whether the point `id` with `payload` passes.
    pub fn matches(&self, id: &str, payload: Option<&Payload>) -> bool {
        self.must.iter().all(|c| c.matches(id, payload))
            && (self.should.is_empty() || self.should.iter().any(|c| c.matches(id, payload)))
            && !self.must_not.iter().any(|c| c.matches(id, payload))
    }

    /// How deeply sub-filters nest (1 for a filter without any).
    pub fn depth(&self) -> usize {
        1 + self
            .must
            .iter()
            .chain(&self.should)
            .chain(&self.must_not)
            .map(|c| match &c.matches {
                Match::Filter(f) => f.depth(),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
}

/// The value at a dotted `key` of `payload`.
pub fn lookup<'a>(payload: &'a Payload, key: &str) -> Option<&'a Value> {
    let mut parts = key.split('.');
    let mut cur = payload.get(parts.next()?)?;
    for part in parts {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur)
}

pub(crate) fn value_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        // Numbers compare as doubles: 3 equals 3.0.
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The lower-cased words (runs of letters and digits) of `text`.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
}

impl Condition {
    pub fn matches(&self, id: &str, payload: Option<&Payload>) -> bool {
        match &self.matches {
            Match::HasId(ids) => return ids.contains(id),
            Match::Filter(f) => return f.matches(id, payload),
            Match::IsEmpty => {
                return match payload.and_then(|p| lookup(p, &self.key)) {
                    None | Some(Value::Null) => true,
                    Some(Value::Array(items)) => items.is_empty(),
                    Some(_) => false,
                }
            }
            _ => {}
        }
        let Some(value) = payload.and_then(|p| lookup(p, &self.key)) else {
            return false;
        };
        let test = |v: &Value| match &self.matches {
            Match::Equals(want) => value_equals(v, want),
            Match::Range(r) => v.as_f64().is_some_and(|x| r.contains(x)),
            Match::Any(values) => values.iter().any(|want| value_equals(v, want)),
            Match::Text(wanted) => v.as_str().is_some_and(|s| {
                let have: HashSet<String> = words(s).collect();
                wanted.iter().all(|w| have.contains(w))
            }),
            Match::IsEmpty | Match::HasId(_) | Match::Filter(_) => unreachable!("handled above"),
        };
        match value {
            // A list matches if any element does (unless the filter asks for the list itself).
            Value::Array(items) => {
                matches!(&self.matches, Match::Equals(w) if w == value) || items.iter().any(test)
            }
            v => test(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(v: Value) -> Payload {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn conditions() {
        let p =
            payload(json!({"color": "red", "n": 3, "tags": ["a", "b"], "meta": {"year": 2017}}));
        let eq = |k: &str, v: Value| Condition {
            key: k.into(),
            matches: Match::Equals(v),
        };
        let range = |k: &str, r: Range| Condition {
            key: k.into(),
            matches: Match::Range(r),
        };
        assert!(eq("color", json!("red")).matches("id", Some(&p)));
        assert!(!eq("color", json!("blue")).matches("id", Some(&p)));
        assert!(eq("n", json!(3.0)).matches("id", Some(&p)));
        assert!(eq("tags", json!("b")).matches("id", Some(&p)));
        assert!(eq("meta.year", json!(2017)).matches("id", Some(&p)));
        assert!(!eq("missing", json!(1)).matches("id", Some(&p)));
        assert!(!eq("color", json!("red")).matches("id", None));
        assert!(range(
            "meta.year",
            Range {
                gte: Some(2017.0),
                lt: Some(2018.0),
                ..Default::default()
            }
        )
        .matches("id", Some(&p)));
        assert!(!range(
            "n",
            Range {
                gt: Some(3.0),
                ..Default::default()
            }
        )
        .matches("id", Some(&p)));
        assert!(!range(
            "color",
            Range {
                gt: Some(0.0),
                ..Default::default()
            }
        )
        .matches("id", Some(&p)));

        let f = Filter {
            must: vec![eq("color", json!("red"))],
            should: vec![eq("n", json!(1)), eq("n", json!(3))],
            must_not: vec![eq("tags", json!("z"))],
        };
        assert!(f.matches("id", Some(&p)));
        let f2 = Filter {
            must_not: vec![eq("tags", json!("a"))],
            ..f.clone()
        };
        assert!(!f2.matches("id", Some(&p)));
    }

    #[test]
    fn any_is_empty_has_id_text_and_nested_filters() {
        let p = payload(json!({
            "color": "red", "tags": ["a", "b"], "none": null, "empty": [],
            "caption": "A Red Bus, parked near the old station.", "n": 3
        }));
        let cond = |k: &str, m: Match| Condition {
            key: k.into(),
            matches: m,
        };
        let any = |k: &str, v: Value| cond(k, Match::Any(v.as_array().unwrap().clone()));
        assert!(any("color", json!(["blue", "red"])).matches("id", Some(&p)));
        assert!(any("tags", json!(["z", "b"])).matches("id", Some(&p)));
        assert!(any("n", json!([1, 3.0])).matches("id", Some(&p)));
        assert!(!any("color", json!(["blue"])).matches("id", Some(&p)));
        for empty in ["missing", "none", "empty"] {
            assert!(
                cond(empty, Match::IsEmpty).matches("id", Some(&p)),
                "{empty}"
            );
        }
        assert!(cond("x", Match::IsEmpty).matches("id", None));
        assert!(!cond("tags", Match::IsEmpty).matches("id", Some(&p)));
        assert!(!cond("color", Match::IsEmpty).matches("id", Some(&p)));
        let ids = |l: &[&str]| Match::HasId(l.iter().map(|s| s.to_string()).collect());
        assert!(cond("", ids(&["x", "id"])).matches("id", None));
        assert!(!cond("", ids(&["x"])).matches("id", Some(&p)));
        let text = |t: &str| Match::Text(words(t).collect());
        assert!(cond("caption", text("red bus")).matches("id", Some(&p)));
        assert!(cond("caption", text("STATION old")).matches("id", Some(&p)));
        assert!(!cond("caption", text("red car")).matches("id", Some(&p)));
        assert!(
            !cond("caption", text("sta")).matches("id", Some(&p)),
            "whole words"
        );
        assert!(
            !cond("n", text("3")).matches("id", Some(&p)),
            "strings only"
        );
        // (color = red AND NOT (tags has z)) OR id = other
        let inner = Filter {
            must: vec![cond("color", Match::Equals(json!("red")))],
            must_not: vec![cond("tags", Match::Equals(json!("z")))],
            ..Default::default()
        };
        let outer = Filter {
            should: vec![
                cond("", Match::Filter(Box::new(inner.clone()))),
                cond("", ids(&["other"])),
            ],
            ..Default::default()
        };
        assert_eq!(outer.depth(), 2);
        assert!(outer.matches("id", Some(&p)));
        assert!(outer.matches("other", None));
        assert!(!outer.matches("id", None));
    }
}
