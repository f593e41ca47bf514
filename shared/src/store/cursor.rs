//! Opaque page cursors: a LastEvaluatedKey as base64url JSON. A cursor that does not decode to a
//! key of the expected partition is `StoreError::BadCursor` (a 400), never a failure of the store.

use super::Item;
use super::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use std::collections::BTreeMap;

pub(crate) fn encode(key: &Item) -> Option<String> {
    let map: BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
        .collect();
    (map.len() == key.len())
        .then(|| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&map).unwrap_or_default()))
}

/// Decodes a cursor whose attributes are exactly `names` and whose `partition_attr` is `partition`.
pub(crate) fn decode(
    cursor: &str,
    names: &[&str],
    partition_attr: &str,
    partition: &str,
) -> Result<Item, StoreError> {
    let bad = || StoreError::BadCursor;
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .map_err(|_| bad())?;
    let map: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if map.len() != names.len() || !names.iter().all(|n| map.contains_key(*n)) {
        return Err(bad());
    }
    if map.get(partition_attr).map(String::as_str) != Some(partition) {
        return Err(bad());
    }
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let key: Item = [("pk", "A"), ("sk", "B"), ("gsi1pk", "P"), ("gsi1sk", "S")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
            .collect();
        let c = encode(&key).expect("encodes");
        let names = ["pk", "sk", "gsi1pk", "gsi1sk"];
        assert_eq!(decode(&c, &names, "gsi1pk", "P").expect("decodes"), key);
        assert!(
            decode(&c, &names, "gsi1pk", "Q").is_err(),
            "another partition's cursor"
        );
        assert!(decode("!!!", &names, "gsi1pk", "P").is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode("[1]"), &names, "gsi1pk", "P").is_err());
        assert!(decode(&c, &["pk", "sk"], "pk", "A").is_err());
    }
}
