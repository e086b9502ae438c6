//! The short filter syntax shared by `clipdb search --filter`, the search
//! page's filter box and the HTTP API: one condition is `key=value`,
//! `key!=value`, `key>=n`, `key>n`, `key<=n`, `key<n` or `key~words` (the
//! field's text holds every word); several are separated by `;` or new
//! lines and must all hold. A value is JSON when it parses as a number, a
//! boolean or a quoted string, else the literal text. Keys are dotted for
//! nested objects.

use serde_json::Value;

use crate::engine::payload::words;
use crate::engine::{Condition, Filter, Match, Range};

/// What a condition must look like, for error messages.
pub const USAGE: &str = "expected key=value, key!=value, key>=n, key>n, key<=n, key<n or key~words";

/// One condition and whether it must NOT hold (`!=`). The error names the
/// condition and what is wrong with it.
pub fn parse_condition(spec: &str) -> Result<(Condition, bool), String> {
    let usage = || format!("`{spec}`: {USAGE}");
    // The first operator character ends the key; two-character operators first.
    let at = spec.find(['=', '!', '<', '>', '~']).ok_or_else(usage)?;
    let (key, rest) = spec.split_at(at);
    let key = key.trim();
    if key.is_empty() {
        return Err(usage());
    }
    let (op, value) = ["!=", ">=", "<=", "=", ">", "<", "~"]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
        .ok_or_else(usage)?;
    let number = || -> Result<f64, String> {
        match value.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n),
            _ => Err(format!("`{spec}`: `{value}` is not a number")),
        }
    };
    let bound = |set: fn(&mut Range, f64)| -> Result<Match, String> {
        let mut range = Range::default();
        set(&mut range, number()?);
        Ok(Match::Range(range))
    };
    let matches = match op {
        "=" | "!=" => Match::Equals(json_value(value)),
        ">=" => bound(|r, n| r.gte = Some(n))?,
        ">" => bound(|r, n| r.gt = Some(n))?,
        "<=" => bound(|r, n| r.lte = Some(n))?,
        "<" => bound(|r, n| r.lt = Some(n))?,
        _ => {
            let words: Vec<String> = words(value).collect();
            if words.is_empty() {
                return Err(format!("`{spec}`: `~` needs words (letters or digits)"));
            }
            Match::Text(words)
        }
    };
    Ok((
        Condition {
            key: key.to_string(),
            matches,
        },
        op == "!=",
    ))
}

/// A value as written: JSON for numbers, booleans and quoted strings, else
/// the text itself.
fn json_value(value: &str) -> Value {
    match serde_json::from_str::<Value>(value.trim()) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::String(_))) => v,
        _ => Value::String(value.to_string()),
    }
}

/// The filter of several conditions, all of which must hold; None when
/// there are none.
pub fn parse_conditions<'a>(
    specs: impl IntoIterator<Item = &'a str>,
) -> Result<Option<Filter>, String> {
    let mut filter = Filter::default();
    for spec in specs {
        let (condition, negated) = parse_condition(spec)?;
        if negated {
            filter.must_not.push(condition);
        } else {
            filter.must.push(condition);
        }
    }
    Ok((!filter.is_empty()).then_some(filter))
}

/// The filter box's text: conditions separated by `;` or new lines (blank
/// ones ignored).
pub fn parse_filter_text(text: &str) -> Result<Option<Filter>, String> {
    parse_conditions(
        text.split([';', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operator_parses_to_its_condition() {
        let (c, neg) = parse_condition("colour=red").unwrap();
        assert_eq!(c.key, "colour");
        assert!(!neg);
        assert_eq!(c.matches, Match::Equals(Value::String("red".into())));
        let (c, neg) = parse_condition("meta.year!=2020").unwrap();
        assert_eq!(c.key, "meta.year");
        assert!(neg);
        assert_eq!(c.matches, Match::Equals(serde_json::json!(2020)));
        let (c, _) = parse_condition("n>=2.5").unwrap();
        assert_eq!(
            c.matches,
            Match::Range(Range {
                gte: Some(2.5),
                ..Default::default()
            })
        );
        let (c, _) = parse_condition("n<7").unwrap();
        assert_eq!(
            c.matches,
            Match::Range(Range {
                lt: Some(7.0),
                ..Default::default()
            })
        );
        let (c, _) = parse_condition("caption~Red bus").unwrap();
        assert_eq!(c.matches, Match::Text(vec!["red".into(), "bus".into()]));
        let (c, _) = parse_condition("ok=true").unwrap();
        assert_eq!(c.matches, Match::Equals(Value::Bool(true)));
        let (c, _) = parse_condition("s=\"42\"").unwrap();
        assert_eq!(c.matches, Match::Equals(Value::String("42".into())));
    }

    #[test]
    fn malformed_conditions_are_named() {
        for bad in ["=x", "novalue", "n>=abc", "n<inf", "t~ ,."] {
            let err = parse_condition(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
        let err = parse_filter_text("a=1; n>=x").unwrap_err();
        assert!(err.contains("`n>=x`"), "{err}");
    }

    #[test]
    fn the_filter_box_separates_conditions_by_semicolons_and_lines() {
        let f = parse_filter_text("a=1; b!=2\n c>3 ;").unwrap().unwrap();
        assert_eq!((f.must.len(), f.must_not.len()), (2, 1));
        assert_eq!(parse_filter_text("  ; \n").unwrap(), None);
    }
}
