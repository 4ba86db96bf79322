import Testing
@testable import KerasFormat

@Suite struct SafetensorsHeaderTests {
    /// The header bytes `JSONSerialization` (`.sortedKeys`, `.withoutEscapingSlashes`) wrote before
    /// the toolkit had one JSON type: Foundation's numeric, case-insensitive key order, no spaces,
    /// UTF-8 as is, control characters escaped. Files written before and after must not differ.
    @Test func headerBytesAreWhatJSONSerializationWrote() throws {
        var file = SafetensorsFile(metadata: ["format": "pt", "note": "é/\n\u{1}\"\\😀", "Z": "1"])
        for name in ["conv_10.weight", "conv_2.weight", "Conv_3.bias", "a/b", "x_1", "x-1", "x.1", "é", "f"] {
            file.tensors[name] = .init(dtype: .u8, shape: [1], bytes: [0])
        }
        let bytes = try file.serialized()
        let length = Int(bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        let expected =
            #"{"__metadata__":{"format":"pt","note":"é/\n\u0001\"\\😀","Z":"1"},"#
            + #""a/b":{"data_offsets":[1,2],"dtype":"U8","shape":[1]},"conv_2.weight":{"data_offsets":[3,4],"dtype":"U8","shape":[1]},"#
            + #""Conv_3.bias":{"data_offsets":[0,1],"dtype":"U8","shape":[1]},"conv_10.weight":{"data_offsets":[2,3],"dtype":"U8","shape":[1]},"#
            + #""é":{"data_offsets":[8,9],"dtype":"U8","shape":[1]},"f":{"data_offsets":[4,5],"dtype":"U8","shape":[1]},"#
            + #""x_1":{"data_offsets":[7,8],"dtype":"U8","shape":[1]},"x-1":{"data_offsets":[5,6],"dtype":"U8","shape":[1]},"#
            + #""x.1":{"data_offsets":[6,7],"dtype":"U8","shape":[1]}}"#
        #expect(header == expected + String(repeating: " ", count: length - expected.utf8.count))
        #expect(length % 8 == 0 && length - expected.utf8.count < 8)
        #expect(try SafetensorsFile.parse(bytes, file: "x.safetensors") == file)
    }

    @Test func malformedHeaderNamesTheFileAndOffset() throws {
        let header = Array(#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]]}"#.utf8)
        let bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header + [0, 0, 0, 0]
        let error = try #require(throws: KerasFormatError.self) { try SafetensorsFile.parse(bytes, file: "w.safetensors") }
        #expect(error.file == "w.safetensors" && error.reason == .malformed)
        #expect(error.found == "expected , or } in an object at byte 59 of the header")
    }
}
