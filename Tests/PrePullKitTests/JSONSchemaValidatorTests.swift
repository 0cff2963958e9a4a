import Testing
@testable import PrePullKit

/// The validator itself must be able to fail, or the schema tests prove nothing.
@Suite struct JSONSchemaValidatorTests {
    let schema = try! JSONValue(jsonText: #"""
        {"type":"object","required":["a"],"additionalProperties":false,
         "properties":{"a":{"$ref":"#/$defs/small"},"b":{"type":"array","items":{"enum":["x","y"]}},
                       "c":{"const":"k"},"d":{"type":"string","pattern":"^[a-z]+$"},"e":{"type":["integer","null"]}},
         "$defs":{"small":{"type":"integer","minimum":0,"maximum":9}}}
        """#)

    @Test func acceptsValid() throws {
        let v = JSONSchemaValidator(schema: schema)
        #expect(v.validate(try JSONValue(jsonText: #"{"a":3,"b":["x"],"c":"k","d":"abc","e":null}"#)) == [])
    }

    @Test(arguments: [
        #"{}"#, #"{"a":10}"#, #"{"a":-1}"#, #"{"a":1.5}"#, #"{"a":"1"}"#, #"{"a":1,"z":0}"#, #"{"a":1,"b":["q"]}"#,
        #"{"a":1,"c":"j"}"#, #"{"a":1,"d":"ABC"}"#, #"{"a":1,"e":"s"}"#, #"[]"#,
    ])
    func rejectsInvalid(instance: String) throws {
        #expect(!JSONSchemaValidator(schema: schema).validate(try JSONValue(jsonText: instance)).isEmpty)
    }

    @Test func rejectsUnsupportedKeywords() throws {
        let s = try JSONValue(jsonText: #"{"oneOf":[]}"#)
        #expect(!JSONSchemaValidator(schema: s).validate(.null).isEmpty)
    }
}
