import Datasets
import Foundation
import TestSupport
import Testing

@Suite struct ErrorTests {
    @Test func missingFolder() {
        let error = datasetError { try MNISTFolder("/nonexistent/folder").load(.train) }
        #expect(error == .missingFolder(path: "/nonexistent/folder"))
        #expect(error?.description.contains("/nonexistent/folder") == true)
        #expect(!MNISTFolder("/nonexistent/folder").exists)
    }

    @Test func missingFileNamesWhichOneAndWhere() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        try writeMNISTFolder(temp)
        try FileManager.default.removeItem(atPath: temp.path + "/t10k-labels-idx1-ubyte")
        #expect(try MNISTFolder(temp.path).load(.train).count == 6)
        let error = datasetError { try MNISTFolder(temp.path).load(.test) }
        #expect(
            error
                == .missingFile(
                    file: "t10k-labels-idx1-ubyte", folder: temp.path,
                    tried: MNISTFolder.acceptedNames(.test, .labels)))
        let message = error?.description ?? ""
        #expect(message.contains("t10k-labels-idx1-ubyte"))
        #expect(message.contains(temp.path))
    }

    @Test func unreadableFile() {
        let error = datasetError { try IDX.read(path: "/nonexistent/x.idx") }
        #expect(error == .unreadable(path: "/nonexistent/x.idx", reason: "No such file or directory"))
    }

    @Test func badMagic() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        let path = try temp.writeFile("x", [0x00, 0x00, 0x07, 0x01, 0, 0, 0, 1, 5])
        let error = datasetError { try IDX.read(path: path) }
        #expect(error == .badMagic(path: path, found: [0, 0, 7, 1]))
        #expect(error?.description.contains("found 00 00 07 01") == true)
        let text = try temp.writeFile("y", Array("hello world".utf8))
        #expect(datasetError { try IDX.read(path: text) } == .badMagic(path: text, found: [0x68, 0x65, 0x6C, 0x6C]))
    }

    @Test func wrongRankAndType() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        try writeMNISTFolder(temp)
        // Labels with rank 2.
        let labels = try temp.writeFile("train-labels-idx1-ubyte", idxBytes(shape: [6, 1], payload: Array(0..<6)))
        #expect(datasetError { try MNISTFolder(temp.path).load(.train) } == .wrongRank(path: labels, expected: [1], found: 2))
        // Images stored as int32.
        let images = try temp.writeFile(
            "t10k-images-idx3-ubyte", idxBytes(type: 0x0C, shape: [2, 4, 3], payload: Array(repeating: 0, count: 96)))
        let error = datasetError { try MNISTFolder(temp.path).load(.test) }
        #expect(error == .wrongDataType(path: images, expected: .uint8, found: .int32))
        #expect(error?.description.contains("expected IDX element type ubyte (0x08), found int (0x0c)") == true)
    }

    @Test func truncatedHeaderAndData() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        let empty = try temp.writeFile("empty", [])
        #expect(datasetError { try IDX.read(path: empty) } == .truncated(path: empty, expectedBytes: 4, foundBytes: 0))
        let shortDims = try temp.writeFile("dims", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0])
        #expect(datasetError { try IDX.read(path: shortDims) } == .truncated(path: shortDims, expectedBytes: 16, foundBytes: 10))
        let full = idxBytes(shape: [3, 2, 2], payload: Array(0..<12))
        let raw = try temp.writeFile("raw", Array(full.dropLast(5)))
        let error = datasetError { try IDX.read(path: raw) }
        #expect(error == .truncated(path: raw, expectedBytes: 28, foundBytes: 23))
        #expect(error?.description.contains("expected 28 bytes") == true)
        #expect(error?.description.contains("found 23") == true)
        // A limit that stays within the data present reads fine.
        #expect(try IDX.read(path: raw, limit: 1).shape == [1, 2, 2])
        // Truncated data inside an intact gzip stream.
        let gz = try temp.writeFile("gz", Gzip.compress(Array(full.dropLast(5))))
        #expect(datasetError { try IDX.read(path: gz) } == .truncated(path: gz, expectedBytes: 28, foundBytes: 23))
    }

    @Test func trailingBytes() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        let path = try temp.writeFile("t", idxBytes(shape: [2], payload: [1, 2, 3, 4]))
        #expect(datasetError { try IDX.read(path: path) } == .trailingBytes(path: path, expectedBytes: 10, foundBytes: 12))
        #expect(try IDX.read(path: path, limit: 1).data == .uint8([1]))
    }

    @Test func countMismatch() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        try writeMNISTFolder(temp)
        let labels = try temp.writeFile("train-labels-idx1-ubyte", syntheticSplit(count: 5).labels)
        let error = datasetError { try MNISTFolder(temp.path).load(.train) }
        #expect(error == .countMismatch(imagesPath: temp.path + "/train-images-idx3-ubyte", images: 6, labelsPath: labels, labels: 5))
        #expect(error?.description.contains("6 images") == true)
        #expect(error?.description.contains("5 labels") == true)
    }

    @Test func corruptGzip() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        let payload: [UInt8] = (0..<4000).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 31 + i / 7) }
        let gz = Gzip.compress(idxBytes(shape: [4000], payload: payload))
        // Cut short: the member never ends.
        let cut = try temp.writeFile("cut.gz", Array(gz.prefix(gz.count / 2)))
        guard case .corruptGzip(let p1, let reason1)? = datasetError({ try IDX.read(path: cut) }) else {
            Issue.record("expected corruptGzip for a cut file")
            return
        }
        #expect(p1 == cut)
        #expect(reason1.contains("truncated"))
        // Damaged CRC in the trailer.
        var badCRC = gz
        badCRC[badCRC.count - 6] ^= 0xFF
        let crc = try temp.writeFile("crc.gz", badCRC)
        guard case .corruptGzip(_, let reason2)? = datasetError({ try IDX.read(path: crc) }) else {
            Issue.record("expected corruptGzip for a bad CRC")
            return
        }
        #expect(reason2.contains("incorrect data check"))
        // Damaged deflate data / header.
        var badHeader = gz
        badHeader[2] = 7  // compression method must be 8
        let header = try temp.writeFile("header.gz", badHeader)
        #expect({ if case .corruptGzip? = datasetError({ try IDX.read(path: header) }) { true } else { false } }())
        // Garbage after a complete member.
        let trailing = try temp.writeFile("trailing.gz", gz + [1, 2, 3, 4, 5])
        guard case .corruptGzip(_, let reason3)? = datasetError({ try IDX.read(path: trailing) }) else {
            Issue.record("expected corruptGzip for trailing garbage")
            return
        }
        #expect(reason3.contains("member 2"))
        // Only the gzip magic.
        let magicOnly = try temp.writeFile("magic.gz", [0x1F, 0x8B])
        #expect({ if case .corruptGzip? = datasetError({ try IDX.read(path: magicOnly) }) { true } else { false } }())
    }

    @Test func tooLargeDimensionsDoNotCrash() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        let huge: [UInt8] = [0, 0, 0x0E, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        let path = try temp.writeFile("huge", huge)
        #expect(datasetError { try IDX.read(path: path) } == .tooLarge(path: path, dims: [4_294_967_295, 4_294_967_295, 4_294_967_295]))
        // Zero samples must not hide an overflow in the other dimensions.
        let zero = try temp.writeFile("zero", [0, 0, 8, 3, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect({ if case .tooLarge? = datasetError({ try IDX.read(path: zero) }) { true } else { false } }())
        // Large but addressable dimensions with no data: truncated, without allocating it all up front.
        let big = try temp.writeFile("big", [0, 0, 8, 2, 0x10, 0, 0, 0, 0, 0, 0x10, 0])
        #expect(datasetError { try IDX.read(path: big) } == .truncated(path: big, expectedBytes: 12 + (1 << 40), foundBytes: 12))
    }

    @Test func negativeLimit() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        try writeMNISTFolder(temp)
        #expect(datasetError { try MNISTFolder(temp.path).load(.train, limit: -3) } == .invalidArgument("limit must be ≥ 0, got -3"))
    }
}

@Suite struct InflationBudgetTests {
    /// 19 KB of gzip holding a valid 20 MB IDX file: past 64 × its size, refused while inflating.
    @Test func aGzipBombIsRefusedWhileInflating() throws {
        let path = Fixture.path("hostile/idx_bomb-images-idx3-ubyte.gz")
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let budget = 64 * size
        #expect(datasetError { try IDX.read(path: path) } == .inflationBudgetExceeded(path: path, budget: budget))
        #expect(datasetError { try Gzip.readFile(path: path) } == .inflationBudgetExceeded(path: path, budget: budget))
        // The header alone still reads: it comes long before the budget runs out.
        #expect(try IDX.readHeader(path: path).shape == [25510, 28, 28])
    }
}
