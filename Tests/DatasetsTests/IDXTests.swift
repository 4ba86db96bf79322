import Datasets
import Foundation
import TestSupport
import Testing

@Suite struct IDXTests {
    @Test func rawUbyteRoundTrip() throws {
        let bytes = idxBytes(shape: [2, 2, 3], payload: Array(0..<12))
        let array = try IDX.decode(bytes)
        #expect(array.shape == [2, 2, 3])
        #expect(array.data == .uint8(Array(0..<12)))
        #expect(IDX.encode(array) == bytes)
    }

    @Test func gzipDetectedByMagicNotName() throws {
        let bytes = idxBytes(shape: [4], payload: [9, 8, 7, 6])
        let gz = Gzip.compress(bytes)
        #expect(Gzip.isGzip(gz))
        #expect(!Gzip.isGzip(bytes))
        #expect(try IDX.decode(gz).data == .uint8([9, 8, 7, 6]))
        // A gzip file without .gz and a raw file with .gz both read.
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try folder.writeFile("compressed-no-suffix", gz)
        let b = try folder.writeFile("raw-with-suffix.gz", bytes)
        #expect(try IDX.read(path: a).data == .uint8([9, 8, 7, 6]))
        #expect(try IDX.read(path: b).data == .uint8([9, 8, 7, 6]))
    }

    @Test func concatenatedGzipMembers() throws {
        let bytes = idxBytes(shape: [3, 5], payload: Array(100..<115))
        let members =
            Gzip.compress(Array(bytes[0..<3])) + Gzip.compress(Array(bytes[3..<10])) + Gzip.compress([])
            + Gzip.compress(Array(bytes[10...]))
        #expect(try Gzip.decompress(members) == bytes)
        #expect(try IDX.decode(members).data == .uint8(Array(100..<115)))
    }

    @Test func largeGzipStreamsAcrossBuffers() throws {
        // Bigger than the 256 KiB input buffer and incompressible enough to need several refills.
        var state: UInt32 = 12345
        let payload = (0..<(600 * 28 * 28)).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(state >> 24)
        }
        let bytes = idxBytes(shape: [600, 28, 28], payload: payload)
        let array = try IDX.decode(Gzip.compress(bytes, level: 1))
        #expect(array.shape == [600, 28, 28])
        #expect(array.data == .uint8(payload))
        let first = try IDX.decode(Gzip.compress(bytes), limit: 7)
        #expect(first.shape == [7, 28, 28])
        #expect(first.data == .uint8(Array(payload[0..<(7 * 784)])))
    }

    @Test func pythonWrittenFixturesOfEveryType() throws {
        let values: [Int] = [-2, -1, 0, 1, 2, 100]
        let expected: [String: IDXData] = [
            "ubyte": .uint8(values.map { UInt8(truncatingIfNeeded: $0) }),
            "byte": .int8(values.map { Int8($0) }),
            "short": .int16(values.map { Int16($0) }),
            "int": .int32(values.map { Int32($0) }),
            "float": .float32(values.map { Float($0) }),
            "double": .float64(values.map { Double($0) })
        ]
        for (name, data) in expected {
            let array = try IDX.read(path: "\(Fixture.idxFolder)/dtypes/\(name).idx")
            #expect(array.shape == [2, 3], "\(name)")
            #expect(array.data == data, "\(name)")
            #expect(IDX.encode(array) == Array(try Gzip.readFile(path: "\(Fixture.idxFolder)/dtypes/\(name).idx")), "\(name)")
        }
    }

    @Test func everyTypeRoundTrips() throws {
        let arrays: [IDXArray] = [
            IDXArray(shape: [3], data: .int8([-128, 0, 127])),
            IDXArray(shape: [1, 3], data: .int16([-32768, 258, 32767])),
            IDXArray(shape: [3, 1], data: .int32([Int32.min, 16_909_060, Int32.max])),
            IDXArray(shape: [3], data: .float32([-0.5, .pi, .infinity])),
            IDXArray(shape: [3], data: .float64([-0.25, .pi, 1e300])),
            IDXArray(shape: [0, 4], data: .uint8([])),
            IDXArray(shape: [], data: .uint8([42]))
        ]
        for array in arrays {
            let encoded = try #require(IDX.encode(array))
            #expect(try IDX.decode(encoded) == array)
            #expect(try IDX.decode(Gzip.compress(encoded)) == array)
        }
        #expect(IDX.encode(IDXArray(shape: [2, 2], data: .uint8([1, 2, 3]))) == nil)
    }

    @Test func limitCutsTheFirstDimension() throws {
        let bytes = idxBytes(shape: [4, 2], payload: Array(0..<8))
        #expect(try IDX.decode(bytes, limit: 2) == IDXArray(shape: [2, 2], data: .uint8([0, 1, 2, 3])))
        #expect(try IDX.decode(bytes, limit: 0) == IDXArray(shape: [0, 2], data: .uint8([])))
        #expect(try IDX.decode(bytes, limit: 10) == IDXArray(shape: [4, 2], data: .uint8(Array(0..<8))))
        #expect(datasetError { try IDX.decode(bytes, limit: -1) } == .invalidArgument("limit must be ≥ 0, got -1"))
    }

    @Test func header() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try folder.writeFile("h.gz", Gzip.compress(idxBytes(type: 0x0C, shape: [5, 2], payload: Array(repeating: 0, count: 40))))
        let header = try IDX.readHeader(path: path)
        #expect(header == IDXHeader(dataType: .int32, shape: [5, 2]))
        #expect(header.headerByteCount == 12)
    }
}
