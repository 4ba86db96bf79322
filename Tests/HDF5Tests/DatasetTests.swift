import HDF5
import TestSupport
import Testing

@Suite struct DatasetTests {
    private func roundTrip<T: DataElement & Equatable>(_ make: (Int) -> T) throws {
        try withTemporaryFile { file throws in
            for (index, shape) in testShapes.enumerated() {
                let array = NDArray(shape: shape, scalars: (0..<shape.reduce(1, *)).map(make))
                let name = "values/\(T.self)/\(index)"
                try file.root.createDataset(name, array)
                let dataset = try file.root.dataset(name)
                #expect(try dataset.shape() == shape)
                #expect(try dataset.dataType() == T.dataType)
                #expect(try dataset.read(as: T.self) == array)
            }
        }
    }

    @Test func roundTripsEveryTypeAndRank() throws {
        try roundTrip { Float($0) * 0.5 - 1 }
        try roundTrip { Double($0) / 3 }
        try roundTrip { Int32($0) - 4 }
        try roundTrip { Int64($0) << 40 }
        try roundTrip { UInt8($0 * 40 % 256) }
        try roundTrip { $0 % 3 == 0 }
        try roundTrip { Int8($0) - 2 }
        try roundTrip { UInt64($0) }
    }

    @Test func rawBytesCopyBitExactly() throws {
        try withTemporaryFile { file throws in
            let values = NDArray(shape: [2, 2], scalars: [Float.nan, -0.0, .infinity, .leastNonzeroMagnitude])
            let raw = try file.root.createDataset("a", values).readRawBytes()
            #expect(raw.dataType == .float32)
            #expect(raw.shape == [2, 2])
            let copy = try file.root.createDataset("copy/a", raw: raw)
            #expect(try copy.readRawBytes() == raw)
            #expect(try copy.read(as: Float.self).scalars.map(\.bitPattern) == values.scalars.map(\.bitPattern))
        }
    }

    @Test func wrongTypeNamesPathAndBothTypes() throws {
        try withTemporaryPath { path throws in
            let error = try File.withCreate(path) { file throws in
                let dataset = try file.root.createDataset("dense/kernel:0", NDArray([Int64(1)]))
                return hdf5Error { _ = try dataset.read(as: Float.self) }
            }
            #expect(error?.reason == .typeMismatch(expected: .float32, found: .int64))
            #expect(error?.description == "dataset /dense/kernel:0 in \(path): expected float32, found int64")
        }
    }

    @Test func readsIntoABufferOfExactlyItsCount() throws {
        try withTemporaryFile { file throws in
            let values = NDArray(shape: [2, 3], scalars: (0..<6).map { Float($0) - 2.5 })
            let dataset = try file.root.createDataset("a/b", values)
            var buffer = [Float](repeating: 0, count: 6)
            try buffer.withUnsafeMutableBufferPointer { try dataset.read(into: $0) }
            #expect(buffer == values.scalars)
            var short = [Float](repeating: 0, count: 5), doubles = [Double](repeating: 0, count: 6)
            #expect(hdf5Error { try short.withUnsafeMutableBufferPointer { try dataset.read(into: $0) } }?.reason == .invalidArgument)
            #expect(
                hdf5Error { try doubles.withUnsafeMutableBufferPointer { try dataset.read(into: $0) } }?.reason
                    == .typeMismatch(expected: .float64, found: .float32))
            #expect(short == Array(repeating: 0, count: 5))
            #expect(doubles == Array(repeating: 0, count: 6))
        }
    }

    @Test func readsUInt8AsBool() throws {
        try withTemporaryFile { file throws in
            let dataset = try file.root.createDataset("u8", NDArray([UInt8(0), 2, 1]))
            #expect(try dataset.read(as: Bool.self).scalars == [false, true, true])
            #expect(hdf5Error { _ = try dataset.read(as: Int32.self) } != nil)
        }
    }

    @Test func stringDatasetsRoundTrip() throws {
        try withTemporaryFile { file throws in
            let fixed = StringArray(["ab", "c"], shape: [2], format: .fixed(length: 4, padding: .spacePadded))
            #expect(try file.root.createDataset("fixed", strings: fixed).readStrings() == fixed)
            let variable = StringArray(scalar: "héllo")
            let dataset = try file.root.createDataset("variable", strings: variable)
            #expect(try dataset.readStrings() == variable)
            #expect(try dataset.dataType() == .string)
            #expect(hdf5Error { _ = try dataset.readRawBytes() }?.reason == .invalidArgument)
        }
    }
}
