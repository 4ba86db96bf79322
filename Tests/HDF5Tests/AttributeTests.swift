import HDF5
import TestSupport
import Testing

@Suite struct AttributeTests {
    @Test func numericScalarsAndArraysRoundTrip() throws {
        try withTemporaryFile { file throws in
            let attributes = try file.root.createGroup("g").attributes
            try attributes.write(NDArray(scalar: Int64(3)), named: "version")
            try attributes.write(NDArray([Float(0.5), 2]), named: "scale")
            try attributes.write(NDArray([Double]()), named: "weight_names")
            try attributes.write(NDArray([true, false]), named: "flags")
            #expect(try attributes.read("version", as: Int64.self) == NDArray(scalar: 3))
            #expect(try attributes.read("scale", as: Float.self) == NDArray([0.5, 2]))
            #expect(try attributes.read("flags", as: Bool.self) == NDArray([true, false]))
            let empty = try attributes.attribute("weight_names")
            #expect(try empty.shape() == [0])
            #expect(try empty.dataType() == .float64)
            #expect(try empty.read(as: Double.self).scalars.isEmpty)
            #expect(try attributes.names() == ["flags", "scale", "version", "weight_names"])
        }
    }

    @Test(arguments: [
        StringArray(scalar: "héllo"),
        StringArray(scalar: "abc", format: .variableASCII),
        StringArray(["dense/kernel:0", "b"], format: .fixed(fitting: ["dense/kernel:0"])),
        StringArray(["x", "yz"], format: .variableASCII),
        StringArray(["αβ", "c"], format: .variableUTF8),
        StringArray(["a", ""], format: .fixed(length: 3, characterSet: .utf8, padding: .nullTerminated)),
        StringArray(["a b", "c"], format: .fixed(length: 5, padding: .spacePadded)),
        StringArray(scalar: "fixed", format: .fixed(length: 5)),
        StringArray([], format: .fixed(length: 1)),
        StringArray([], format: .variableUTF8)
    ])
    func stringFormsRoundTripExactly(strings: StringArray) throws {
        try withTemporaryFile { file throws in
            try file.root.attributes.write(strings, named: "s")
            let attribute = try file.root.attributes.attribute("s")
            #expect(try attribute.readStrings() == strings)
            #expect(try attribute.dataType() == .string)
            #expect(try attribute.shape() == strings.shape)
            #expect(try file.root.attributes.stringArray("s") == strings.strings)
        }
    }

    @Test func scalarStringAccessorRejectsArrays() throws {
        try withTemporaryFile { file throws in
            try file.root.attributes.write(StringArray(scalar: "x"), named: "one")
            try file.root.attributes.write(StringArray(["x"]), named: "many")
            #expect(try file.root.attributes.string("one") == "x")
            #expect(hdf5Error { _ = try file.root.attributes.string("many") }?.reason == .invalidArgument)
        }
    }

    @Test func fixedLengthRejectsLongStrings() throws {
        try withTemporaryFile { file throws in
            let error = hdf5Error {
                try file.root.attributes.write(StringArray(["abc"], format: .fixed(length: 2)), named: "s")
            }
            #expect(error?.reason == .invalidArgument)
        }
    }

    @Test func overwriteAndDelete() throws {
        try withTemporaryFile { file throws in
            let dataset = try file.root.createDataset("d", NDArray([Float(1)]))
            try dataset.attributes.write(NDArray(scalar: Int32(1)), named: "a")
            try dataset.attributes.write(StringArray(scalar: "now a string"), named: "a")
            #expect(try dataset.attributes.string("a") == "now a string")
            try dataset.attributes.delete("a")
            #expect(try !dataset.attributes.contains("a"))
            let error = hdf5Error { _ = try dataset.attributes.attribute("a") }
            #expect(error?.reason == .notFound)
            #expect(error?.context.object == "attribute a of dataset /d")
        }
    }

    @Test func wrongTypeIsAnError() throws {
        try withTemporaryFile { file throws in
            try file.root.attributes.write(NDArray([Double]()), named: "names")
            let error = hdf5Error { _ = try file.root.attributes.stringArray("names") }
            #expect(error?.reason == .typeMismatch(expected: .string, found: .float64))
        }
    }
}
