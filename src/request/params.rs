//! A resource's query string: percent-decoded parameters, in order, repeated keys kept.

use super::{
    error::{Expected, FieldError, Origin, RequestError},
    fields::Fields,
};

/// The parameters of one resource call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decode `query` (`a=1&b=x%20y`; `+` is a space).
    pub fn parse(query: &str) -> Result<Params, RequestError> {
        let mut out = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| RequestError::NotUtf8 {
                        name: k.to_string(),
                    })
            };
            let (k, v) = (decode(k)?, decode(v)?);
            super::limits::check_parameter(&k, &v)?;
            out.push((k, v));
        }
        if out.len() > super::limits::MAX_ITEMS {
            return Err(super::error::FieldError::new(
                super::error::Origin::Parameter,
                "(query string)",
                super::error::Problem::TooMany {
                    count: out.len(),
                    max: super::limits::MAX_ITEMS,
                },
            )
            .into());
        }
        Ok(Params(out))
    }

    /// Every parameter, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The last value of `key`, trimmed, unless blank.
    pub fn last(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `key`, repeated or comma-separated, trimmed, blank ones dropped.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Refuse a parameter that is not in `known` and does not start with `prefix`.
    pub fn only(
        &self,
        known: &[&'static str],
        prefix: Option<&'static str>,
    ) -> Result<(), RequestError> {
        let allowed = |k: &str| known.contains(&k) || prefix.is_some_and(|p| k.starts_with(p));
        match self.0.iter().find(|(k, _)| !allowed(k)) {
            None => Ok(()),
            Some((name, _)) => Err(RequestError::UnknownParameter {
                name: name.clone(),
                known: known
                    .iter()
                    .copied()
                    .chain(prefix.map(|_| PREFIXED))
                    .collect(),
            }),
        }
    }
}

/// How a prefixed parameter family is listed in messages.
const PREFIXED: &str = "var-<name>";

impl Fields for Params {
    fn origin(&self) -> Origin {
        Origin::Parameter
    }

    fn text(&self, name: &str, _: Expected) -> Result<Option<String>, FieldError> {
        Ok(self
            .0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone()))
    }

    fn names(&self, name: &str) -> Result<Option<Vec<String>>, FieldError> {
        let all = self.all(name);
        Ok((!all.is_empty()).then_some(all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_decode_repeat_and_refuse_strangers() {
        let p = Params::parse("a=x%20y&tag=a,b&tag=c+d&a=z&empty=").unwrap();
        assert_eq!(p.last("a"), Some("z"));
        assert_eq!(p.last("empty"), None);
        assert_eq!(p.all("tag"), ["a", "b", "c d"]);
        assert_eq!(
            p.names("tag").unwrap(),
            Some(vec!["a".into(), "b".into(), "c d".into()])
        );
        assert!(p.only(&["a", "tag", "empty"], None).is_ok());
        let err = p.only(&["a", "tag"], Some("var-")).unwrap_err().to_string();
        assert_eq!(err, "unknown parameter `empty`; known: a, tag, var-<name>");
        let err = Params::parse("x=%ff").unwrap_err().to_string();
        assert_eq!(err, "parameter `x` is not UTF-8");
    }
}
