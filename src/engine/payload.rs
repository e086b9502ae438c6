//! Payloads (JSON objects) and payload filters.

use serde_json::{Map, Value};

/// A point's payload: a JSON object.
pub type Payload = Map<String, Value>;

/// Numeric bounds; unset bounds are open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Range {
    pub gt: Option<f64>,
    pub gte: Option<f64>,
    pub lt: Option<f64>,
    pub lte: Option<f64>,
}

impl Range {
    fn contains(&self, x: f64) -> bool {
        self.gt.is_none_or(|b| x > b)
            && self.gte.is_none_or(|b| x >= b)
            && self.lt.is_none_or(|b| x < b)
            && self.lte.is_none_or(|b| x <= b)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    Equals(Value),
    Range(Range),
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

    pub fn matches(&self, payload: Option<&Payload>) -> bool {
        self.must.iter().all(|c| c.matches(payload))
            && (self.should.is_empty() || self.should.iter().any(|c| c.matches(payload)))
            && !self.must_not.iter().any(|c| c.matches(payload))
    }
}

fn lookup<'a>(payload: &'a Payload, key: &str) -> Option<&'a Value> {
    let mut parts = key.split('.');
    let mut cur = payload.get(parts.next()?)?;
    for part in parts {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur)
}

fn value_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        // Numbers compare as doubles: 3 equals 3.0.
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

impl Condition {
    pub fn matches(&self, payload: Option<&Payload>) -> bool {
        let Some(value) = payload.and_then(|p| lookup(p, &self.key)) else {
            return false;
        };
        let test = |v: &Value| match &self.matches {
            Match::Equals(want) => value_equals(v, want),
            Match::Range(r) => v.as_f64().is_some_and(|x| r.contains(x)),
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
        assert!(eq("color", json!("red")).matches(Some(&p)));
        assert!(!eq("color", json!("blue")).matches(Some(&p)));
        assert!(eq("n", json!(3.0)).matches(Some(&p)));
        assert!(eq("tags", json!("b")).matches(Some(&p)));
        assert!(eq("meta.year", json!(2017)).matches(Some(&p)));
        assert!(!eq("missing", json!(1)).matches(Some(&p)));
        assert!(!eq("color", json!("red")).matches(None));
        assert!(range(
            "meta.year",
            Range {
                gte: Some(2017.0),
                lt: Some(2018.0),
                ..Default::default()
            }
        )
        .matches(Some(&p)));
        assert!(!range(
            "n",
            Range {
                gt: Some(3.0),
                ..Default::default()
            }
        )
        .matches(Some(&p)));
        assert!(!range(
            "color",
            Range {
                gt: Some(0.0),
                ..Default::default()
            }
        )
        .matches(Some(&p)));

        let f = Filter {
            must: vec![eq("color", json!("red"))],
            should: vec![eq("n", json!(1)), eq("n", json!(3))],
            must_not: vec![eq("tags", json!("z"))],
        };
        assert!(f.matches(Some(&p)));
        let f2 = Filter {
            must_not: vec![eq("tags", json!("a"))],
            ..f.clone()
        };
        assert!(!f2.matches(Some(&p)));
    }
}
