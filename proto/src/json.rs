//! `google.protobuf.Struct` ⇄ JSON: the `data` of an event is a JSON object in the database and
//! on REST, and a `Struct` on gRPC (which protobuf's JSON mapping, grpc-web clients included,
//! render as that same object). Numbers become `f64` in a `Struct`; integers of up to 2^53 come
//! back as integers.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::{Map, Number, Value as Json};

/// A JSON value as a protobuf `Value`.
pub fn to_value(json: &Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => Kind::ListValue(ListValue { values: items.iter().map(to_value).collect() }),
        Json::Object(map) => Kind::StructValue(to_struct(map)),
    };
    Value { kind: Some(kind) }
}

/// A JSON object as a `Struct`.
pub fn to_struct(map: &Map<String, Json>) -> Struct {
    Struct { fields: map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect() }
}

/// A protobuf `Value` as JSON; a whole number that fits in an `i64` exactly stays an integer.
pub fn from_value(value: &Value) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
                Json::Number(Number::from(*n as i64))
            } else {
                Number::from_f64(*n).map(Json::Number).unwrap_or(Json::Null)
            }
        }
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(list)) => Json::Array(list.values.iter().map(from_value).collect()),
        Some(Kind::StructValue(s)) => Json::Object(from_struct(s)),
    }
}

/// A `Struct` as a JSON object.
pub fn from_struct(s: &Struct) -> Map<String, Json> {
    s.fields.iter().map(|(k, v)| (k.clone(), from_value(v))).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_survives_a_round_trip_through_struct() {
        let json = serde_json::json!({
            "id": "0192", "n": 3, "big": 1.5, "none": null, "ok": true,
            "list": [1, "a", {"x": -2}], "nested": {"y": []}
        });
        let map = json.as_object().expect("an object");
        assert_eq!(serde_json::Value::Object(super::from_struct(&super::to_struct(map))), json);
    }
}
