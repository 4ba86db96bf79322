import Datasets
import DenseNetEngine
import Foundation
import TestSupport
import Testing

@Suite struct NormalizationTests {
    /// NumPy's rule: `(x / 255.0).astype(np.float32)` divides in float64 and rounds once to float32.
    @Test func allByteValuesFollowTheFloat64ThenRoundRule() {
        for x in 0...255 {
            let expected = Float(Double(x) / 255.0)
            #expect(LabeledImages.normalizedPixel(UInt8(x)).bitPattern == expected.bitPattern, "x = \(x)")
            #expect(LabeledImages.normalizationTable[x].bitPattern == expected.bitPattern, "x = \(x)")
            // Double rounding is harmless here (53 ≥ 2·24 + 2): the float32 division agrees for every byte.
            #expect((Float(x) / 255).bitPattern == expected.bitPattern, "x = \(x)")
        }
        #expect(LabeledImages.normalizedPixel(0) == 0)
        #expect(LabeledImages.normalizedPixel(255) == 1)
        #expect(LabeledImages.normalize([0, 255, 128]) == [0, 1, Float(128.0 / 255.0)])
    }

    /// Bit patterns printed by NumPy: (np.array([1,3,7,128,254], np.uint8) / 255.0).astype(np.float32).view(np.uint32).
    @Test func matchesNumPyBitPatterns() {
        let numpy: [(UInt8, UInt32)] = [(1, 0x3B80_8081), (3, 0x3C40_C0C1), (7, 0x3CE0_E0E1), (128, 0x3F00_8081), (254, 0x3F7E_FEFF)]
        for (x, bits) in numpy {
            #expect(LabeledImages.normalizedPixel(x).bitPattern == bits, "x = \(x)")
        }
    }
}

@Suite struct MNISTFolderTests {
    @Test func acceptedNames() {
        #expect(MNISTFolder.canonicalName(.train, .images) == "train-images-idx3-ubyte")
        #expect(MNISTFolder.canonicalName(.train, .labels) == "train-labels-idx1-ubyte")
        #expect(MNISTFolder.canonicalName(.test, .images) == "t10k-images-idx3-ubyte")
        #expect(MNISTFolder.canonicalName(.test, .labels) == "t10k-labels-idx1-ubyte")
        #expect(
            MNISTFolder.acceptedNames(.test, .labels)
                == ["t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz", "t10k-labels.idx1-ubyte", "t10k-labels.idx1-ubyte.gz"])
        #expect(MNISTFolder().path == "/usr/share/datasets/fashion-mnist")
    }

    /// Colour images: a rank-4 (N×H×W×C, channels last) images file, named `idx4` or `idx3`, loads
    /// as N×H×W×C; rank 5 is refused naming both ranks it takes.
    @Test func colourImagesAreRank4Files() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        let pixels: [UInt8] = (0..<36).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try temp.writeFile("train-images-idx4-ubyte", idxBytes(shape: [3, 2, 2, 3], payload: pixels))
        try temp.writeFile("train-labels-idx1-ubyte", idxBytes(shape: [3], payload: [2, 0, 1]))
        let train = try MNISTFolder(temp.path).load(.train)
        #expect(train.shape == [3, 2, 2, 3])
        #expect(train.images == pixels.map(LabeledImages.normalizedPixel))
        #expect(train.labels == [2, 0, 1])
        let deep = try temp.writeFile("t10k-images-idx3-ubyte", idxBytes(shape: [1, 1, 1, 1, 2], payload: [0, 0]))
        try temp.writeFile("t10k-labels-idx1-ubyte", idxBytes(shape: [1], payload: [0]))
        let error = datasetError { try MNISTFolder(temp.path).load(.test) }
        #expect(error == .wrongRank(path: deep, expected: [3, 4], found: 5))
        #expect(error?.description.contains("expected an IDX array of rank 3 or 4, found rank 5") == true)
    }

    /// The Python-written folder: gzip with FNAME header, raw, dotted names, concatenated members.
    @Test func pythonWrittenTinyFolder() throws {
        let folder = MNISTFolder(Fixture.idxFolder + "/tiny")
        let train = try folder.load(.train)
        #expect(train.shape == [5, 4, 3, 1])
        #expect(train.labels == [1, 4, 7, 0, 3])
        var expected = [Float]()
        for n in 0..<5 {
            for r in 0..<4 {
                for c in 0..<3 {
                    expected.append(LabeledImages.normalizedPixel(UInt8((n * 37 + r * 11 + c * 5 + 3) % 256)))
                }
            }
        }
        #expect(train.images == expected)

        let test = try folder.load(.test)
        #expect(test.shape == [3, 4, 3, 1])
        #expect(test.labels == [9, 8, 7])
        #expect(test.image(at: 2).first == LabeledImages.normalizedPixel(UInt8((2 * 53 + 250) % 256)))
        #expect(try folder.locate(.test, .labels).hasSuffix("/t10k-labels.idx1-ubyte.gz"))
    }

    @Test(arguments: [false, true]) func limits(gzip: Bool) throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        try writeMNISTFolder(temp, trainCount: 6, testCount: 2, gzip: gzip)
        let folder = MNISTFolder(temp.path)
        let all = try folder.load(.train)
        #expect(all.count == 6)
        #expect(all.images.count == 6 * 12)
        #expect(all.labels == [0, 1, 2, 3, 4, 5])
        let two = try folder.load(.train, limit: 2)
        #expect(two == all.prefix(2))
        #expect(two.count == 2)
        #expect(two.images.count == 24)
        #expect(two.labels == [0, 1])
        #expect(try folder.load(.train, limit: 0).count == 0)
        #expect(try folder.load(.train, limit: 100) == all)
        #expect(try folder.load(.test).labels == [0, 1])
        #expect(all.image(at: 1).first == LabeledImages.normalizedPixel(7))
    }

    @Test func prefersRawOverGzipWhenBothExist() throws {
        let temp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: temp) }
        try writeMNISTFolder(temp)
        try temp.writeFile("train-images-idx3-ubyte.gz", [1, 2, 3])  // never read
        #expect(try MNISTFolder(temp.path).locate(.train, .images) == temp.path + "/train-images-idx3-ubyte")
        #expect(try MNISTFolder(temp.path + "/").load(.train).count == 6)
    }
}

/// Fashion-MNIST as Debian's `dataset-fashion-mnist` installs it; skipped when that folder is absent.
@Suite(
    .enabled(
        if: MNISTFolder().exists, "Fashion-MNIST not installed at /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)"
    ))
struct FashionMNISTTests {
    /// Reference values from Python: gzip.open(f).read(), labels at offset 8, pixel bytes summed from offset 16.
    @Test func train() throws {
        let start = ContinuousClock.now
        let data = try MNISTFolder().load(.train)
        print("Fashion-MNIST train loaded in \(ContinuousClock.now - start)")
        #expect(data.shape == [60000, 28, 28, 1])
        #expect(data.images.count == 60000 * 784)
        #expect(data.labels.count == 60000)
        #expect(Array(data.labels.prefix(20)) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4])
        #expect(byteSum(data.image(at: 0)) == 76247)
        #expect(byteSum(data.images[...]) == 3_431_114_169)
        #expect(data.labels.allSatisfy { (0...9).contains($0) })
    }

    @Test func test() throws {
        let data = try MNISTFolder().load(.test)
        #expect(data.shape == [10000, 28, 28, 1])
        #expect(Array(data.labels.prefix(20)) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0])
        #expect(byteSum(data.image(at: 0)) == 33456)
        #expect(byteSum(data.images[...]) == 573_469_082)
    }

    @Test func limitReadsOnlyThePrefix() throws {
        let data = try MNISTFolder().load(.train, limit: 40)
        #expect(data.shape == [40, 28, 28, 1])
        #expect(Array(data.labels.prefix(5)) == [9, 0, 0, 3, 0])
        #expect(byteSum(data.image(at: 0)) == 76247)
    }

    /// The original bytes back from the normalised floats (exact: each byte maps to a distinct float).
    private func byteSum(_ pixels: ArraySlice<Float>) -> Int {
        pixels.withUnsafeBufferPointer { buffer in
            var total = 0
            for p in buffer { total &+= Int(p * 255 + 0.5) }
            return total
        }
    }
}
