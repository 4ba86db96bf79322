import HDF5
import TestSupport
import Testing

/// Reads Fixtures/hdf5/h5py_written.h5, written by h5py (make_h5py_fixture.py).
@Suite struct FixtureTests {
    @Test func readsDatasetsOfEveryType() throws {
        try File.withOpen(Fixture.h5pyWritten) { file throws in
            let data = try file.root.group("data")
            #expect(try data.dataset("f64_scalar").read(as: Double.self) == NDArray(scalar: 2.5))
            let rank3 = try data.dataset("i32_rank3").read(as: Int32.self)
            #expect(rank3 == NDArray(shape: [2, 3, 4], scalars: (0..<24).map { Int32($0) - 5 }))
            #expect(try data.dataset("i64").read(as: Int64.self).scalars == [-(1 << 40), 7])
            #expect(try data.dataset("u8").read(as: UInt8.self).scalars == [0, 1, 2, 255])
            #expect(try data.dataset("bool").dataType() == .bool)
            #expect(
                try data.dataset("bool").read(as: Bool.self)
                    == NDArray(shape: [2, 2], scalars: [true, false, false, true]))
            let half = try data.dataset("f16").readRawBytes()
            #expect(half.dataType == .float16)
            #expect(half.bytes == [0x00, 0x3C, 0x00, 0xB8])
            let kernel = try file.root.dataset("model/dense/kernel:0")
            #expect(try kernel.shape() == [2, 3])
            #expect(try kernel.dataType() == .float32)
            #expect(try kernel.read(as: Float.self).scalars == [0, 1, 2, 3, 4, 5])
        }
    }

    @Test func readsEveryStringForm() throws {
        try File.withOpen(Fixture.h5pyWritten) { file throws in
            let attributes = file.root.attributes
            #expect(try attributes.attribute("title").readStrings() == StringArray(scalar: "fixture"))
            #expect(
                try attributes.attribute("names_fixed").readStrings()
                    == StringArray(["a", "bc"], format: .fixed(length: 2)))
            #expect(
                try attributes.attribute("names_vlen_ascii").readStrings()
                    == StringArray(["x", "yz"], format: .variableASCII))
            #expect(try attributes.attribute("names_vlen_utf8").readStrings() == StringArray(["αβ", "c"]))
            #expect(
                try file.root.group("model/dense").attributes.stringArray("weight_names")
                    == ["dense/kernel:0", "dense/bias:0"])
        }
    }

    @Test func readsNumericAttributes() throws {
        try File.withOpen(Fixture.h5pyWritten) { file throws in
            let attributes = file.root.attributes
            #expect(try attributes.read("version", as: Int64.self) == NDArray(scalar: 3))
            #expect(try attributes.read("scale", as: Float.self) == NDArray([0.5, 2]))
            #expect(try attributes.read("empty_f64", as: Double.self) == NDArray([]))
            #expect(
                try attributes.names() == [
                    "empty_f64", "names_fixed", "names_vlen_ascii", "names_vlen_utf8", "scale", "title", "version"
                ])
        }
    }
}
