import Testing
@testable import KerasFormat

/// The JSON parser reads files from the internet: every malformed input is a `KerasFormatError`
/// naming the byte offset, never a trap or a stack overflow.
@Suite struct JSONTests {
    /// The parse failure of `bytes`, as one line.
    func failure(_ bytes: [UInt8]) throws -> String {
        let error = try #require(throws: KerasFormatError.self) { try JSON.parse(bytes, file: "hostile.json") }
        #expect(error.reason == .malformed && error.file == "hostile.json")
        return error.found
    }

    func failure(_ text: String) throws -> String { try failure(Array(text.utf8)) }

    @Test func deepNestingIsAnErrorNotAStackOverflow() throws {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        #expect(try failure(deep) == "nesting deeper than 512 levels at byte 512")
        let objects = String(repeating: #"{"a": "#, count: 200_000)
        #expect(try failure(objects) == "nesting deeper than 512 levels at byte \(512 * 6)")
        let limit = String(repeating: "[", count: 512) + "7" + String(repeating: "]", count: 512)
        var value = try JSON.parse(limit)
        for _ in 0..<512 { value = try #require(value.arrayValue?.first) }
        #expect(value == .int(7))
    }

    @Test func invalidUTF8IsAnError() throws {
        #expect(try failure([0x22, 0x61, 0xFF, 0x22]) == "invalid UTF-8 at byte 2")
        #expect(try failure([0x22, 0xC0, 0xAF, 0x22]) == "invalid UTF-8 at byte 1")  // overlong "/"
        #expect(try failure([0x22, 0xED, 0xA0, 0x80, 0x22]) == "invalid UTF-8 at byte 1")  // encoded surrogate
        #expect(try failure([0x22, 0xE2, 0x82]) == "invalid UTF-8 at byte 1")  // cut short
        #expect(try failure([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]) == "invalid UTF-8 at byte 1")  // past U+10FFFF
        #expect(try JSON.parse(Array(#"["é😀", "\u00e9\ud83d\ude00"]"#.utf8)) == .array([.string("é😀"), .string("é😀")]))
    }

    @Test func unpairedSurrogatesAreErrors() throws {
        #expect(try failure(#""\ud800\u0041""#) == #"an unpaired surrogate \uD800 at byte 1"#)
        #expect(try failure(#""x\udc00""#) == #"an unpaired surrogate \uDC00 at byte 2"#)
        #expect(try failure(#""\ud800""#) == #"an unpaired surrogate \uD800 at byte 1"#)
        #expect(try failure(#""\ud800\n""#) == #"an unpaired surrogate \uD800 at byte 1"#)
        #expect(try failure(#""\u12""#) == #"a \u escape without four hex digits at byte 3"#)
    }

    @Test func integersPastIntBecomeDoubles() throws {
        #expect(try JSON.parse("9223372036854775807") == .int(.max))
        #expect(try JSON.parse("-9223372036854775808") == .int(.min))
        guard case let .double(past) = try JSON.parse("9223372036854775808") else { Issue.record("not a double"); return }
        #expect(past == 9_223_372_036_854_775_808.0)
        guard case let .double(huge) = try JSON.parse("-1" + String(repeating: "0", count: 400)) else {
            Issue.record("not a double"); return
        }
        #expect(huge == -.infinity)
        #expect(try JSON.parse("1e999") == .double(.infinity))
        #expect(try JSON.parse("[1e999]").arrayValue?.first?.intValue == nil)
    }

    @Test func controlCharactersInStringsAreErrors() throws {
        #expect(try failure("\"a\u{1}\"") == "a control character (U+0001) in a string at byte 2")
        #expect(try failure("\"tab\there\"") == "a control character (U+0009) in a string at byte 4")
        #expect(try failure("\"line\nbreak\"") == "a control character (U+000A) in a string at byte 5")
        #expect(try JSON.parse(#""a\tb\n\u0001\/""#) == .string("a\tb\n\u{1}/"))
        #expect(try JSON.parse("\"\u{7F}\"") == .string("\u{7F}"))  // DEL is not a control character to RFC 8259
    }

    @Test func malformedTextNamesTheByteOffset() throws {
        #expect(try failure("[1, 2 x]") == "expected , or ] in an array at byte 6")
        #expect(try failure(#"{"a": 1,}"#) == "expected a member name in quotes at byte 8")
        #expect(try failure(#"{"a" 1}"#) == "expected : after a member name at byte 5")
        #expect(try failure("[1,]") == "unexpected characters at byte 3")
        #expect(try failure("[1") == "expected , or ] in an array at byte 2")
        #expect(try failure(#""open"#) == "a string that is never closed at byte 0")
        #expect(try failure("") == "end of text where a value should be at byte 0")
        #expect(try failure("{} {}") == "trailing characters after the value at byte 3")
        #expect(try failure(#""\x""#) == "an unknown escape at byte 1")
        #expect(try failure("nul") == "unexpected characters at byte 0")
    }

    @Test(arguments: ["01", "-", "1.", ".5", "+1", "1e", "1e+", "-01", "0x10", "1.5.2", "--1"])
    func numbersFollowTheGrammar(text: String) throws {
        #expect(throws: KerasFormatError.self) { try JSON.parse(text) }
    }

    @Test func numbersAndPythonLiteralsParse() throws {
        #expect(
            try JSON.parse("[0, -0, 1.5, -2e-3, 3E+2, NaN, Infinity, -Infinity, true, false, null]").description
                == "[0, 0, 1.5, -0.002, 300.0, NaN, Infinity, -Infinity, true, false, null]")
        #expect(try JSON.parse(" \t\r\n{\"k\" : [ ] , \"o\":{}} \n") == .object([("k", .array([])), ("o", .object([]))]))
    }
}
