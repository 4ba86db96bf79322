import Foundation
import TestSupport
@testable import HDF5
import Testing

/// The fast path (`StoredGroup`) against libhdf5 on the same files: every answer it gives must be
/// libhdf5's, and on the layout h5py, Keras and this library write it must answer everything.
@Suite struct StoredGroupTests {
    /// Committed files written by h5py and Keras, plus the DenseNet-121 ones when generated.
    static let writtenByH5py: [String] = {
        let folder = URL(fileURLWithPath: Fixture.h5pyWritten).deletingLastPathComponent().deletingLastPathComponent()
        let keras = [
            "tutorial_tfkeras.h5", "tutorial_tfkeras_opt.h5", "tutorial_steps.h5", "tutorial_keras3.weights.h5",
            "densenet_small_tfkeras_weights.h5", "densenet_small_tfkeras.h5", "densenet_small_keras3.weights.h5",
            "tiny_functional_ckpt.h5", "tensorflow_kernels.h5"
        ].map { "keras/\($0)" }
        let generated = ["densenet121_tfkeras_weights.h5", "densenet121_tfkeras.h5", "densenet121_keras3.weights.h5"]
            .map { "keras/generated/\($0)" }
            .filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
        return [Fixture.h5pyWritten] + (keras + generated).map { folder.appendingPathComponent($0).path }
    }()

    /// How many answers the fast path gave while matching libhdf5.
    struct Answers: Equatable {
        var groups = 0, attributes = 0, float32Datasets = 0
    }

    /// Walks `group` with libhdf5 and checks each answer of `stored` for the same group against it;
    /// requires an answer for everything the default layout holds (old-style groups, attributes with
    /// a non-null dataspace, allocated contiguous float32 datasets).
    private func compare(_ group: Group, _ stored: StoredGroup, _ answers: inout Answers) throws {
        answers.groups += 1
        let names = try group.childNames()
        #expect(stored.childNames() == names, "\(group.path) in \(group.file.path)")
        let attributeNames = try group.attributes.names()
        #expect(stored.attributeNames() == attributeNames, "\(group.path)")
        for name in attributeNames {
            let attribute = try group.attributes.attribute(name)
            guard let shape = try? attribute.shape() else {
                #expect(stored.attribute(name) == nil, "null dataspace \(name) of \(group.path)")
                continue
            }
            let strings = try attribute.dataType() == .string ? attribute.readStrings() : nil
            #expect(stored.attribute(name) == StoredAttribute(shape: shape, strings: strings), "\(name) of \(group.path)")
            answers.attributes += 1
        }
        #expect(stored.attribute("no such attribute") == nil)
        for name in names {
            switch try group.kind(of: name) {
            case .group:
                #expect(stored.float32Array(name) == nil)
                let child = try group.group(name)
                guard try !child.tracksCreationOrder() else {  // new-style groups are libhdf5's
                    #expect(stored.group(name) == nil, "\(name) in \(group.path)")
                    continue
                }
                try compare(child, #require(stored.group(name), "\(name) in \(group.path)"), &answers)
            case .dataset:
                #expect(stored.group(name) == nil, "\(name) is a dataset")
                let dataset = try group.dataset(name)
                guard try dataset.dataType() == .float32, try !dataset.shape().contains(0) else {
                    #expect(stored.float32Array(name) == nil, "\(name) in \(group.path)")
                    continue
                }
                let array = try #require(stored.float32Array(name), "\(name) in \(group.path)")
                let values = array.bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                #expect(array.shape == (try dataset.shape()))
                #expect(values.map(\.bitPattern) == (try dataset.read(as: Float.self).scalars.map(\.bitPattern)))
                answers.float32Datasets += 1
            case .other:
                break
            }
        }
    }

    /// Compares the mapped bytes' answers with libhdf5's, which a second, unmapped `File` of the same
    /// path gives (a mapped file's `Group` would itself answer from the bytes).
    private func compareWholeFile(_ path: String) throws -> Answers {
        let file = try File.open(path)
        #expect(file.root.stored == nil, "not read into memory yet")
        try file.mapIntoMemory()
        var answers = Answers()
        try compare(File.open(path).root, #require(file.root.stored, "\(path)"), &answers)
        return answers
    }

    @Test(arguments: writtenByH5py) func answersLikeLibhdf5OnFilesWrittenByH5pyAndKeras(_ path: String) throws {
        let answers = try compareWholeFile(path)
        #expect(answers.groups > 1, "\(answers)")
        #expect(answers.float32Datasets > 0, "\(answers)")
        if path.contains("keras3") || path.contains("tfkeras") || path.contains("h5py") { #expect(answers.attributes > 0) }
    }

    @Test func answersLikeLibhdf5OnFilesWrittenHere() throws {
        try withTemporaryPath { path throws in
            let manyNames = (0..<3000).map { "layer_\($0)_with_a_longer_name" }
            try File.withCreate(path) { file in
                let root = file.root
                for index in 0..<300 {  // enough links for B-tree levels above the leaves
                    try root.createDataset("wide/d\(index)", NDArray(shape: [2], scalars: [Float(index), -0.0]))
                }
                try root.createDataset("a/b/c/kernel:0", NDArray(shape: [2, 3], scalars: (0..<6).map { Float($0) / 3 }))
                try root.createDataset("a/b/scalar", NDArray(scalar: Float.nan))
                try root.createDataset("a/empty", NDArray(shape: [0], scalars: [Float]()))
                try root.createDataset("a/f64", NDArray([1.0, 2.0]))
                try root.createDataset("a/strings", strings: StringArray(["x", "yz"]))
                let attributes = root.attributes
                try attributes.write(StringArray(manyNames, format: .variableASCII), named: "layer_names")  // many heap collections
                try attributes.write(StringArray(scalar: "tensorflow", format: .variableASCII), named: "backend")
                try attributes.write(StringArray(scalar: "ünï"), named: "utf8")
                try attributes.write(StringArray(["a", "", "bc"], shape: [3, 1], format: .fixed(length: 2)), named: "fixed")
                try attributes.write(StringArray(["a "], format: .fixed(length: 3, padding: .spacePadded)), named: "spaced")
                try attributes.write(StringArray(["a\0b"], format: .fixed(length: 4, padding: .nullTerminated)), named: "nullterm")
                try attributes.write(StringArray([], format: .variableUTF8), named: "no strings")
                try attributes.write(NDArray<Double>([]), named: "empty_f64")
                try attributes.write(NDArray(shape: [2, 2], scalars: [Int64(1), 2, 3, 4]), named: "i64")
                try root.group("a/b").attributes.write(StringArray(["a/b/c/kernel:0"], format: .variableASCII), named: "weight_names")
            }
            let answers = try compareWholeFile(path)
            #expect(answers == Answers(groups: 5, attributes: 10, float32Datasets: 302))
            let file = try File.open(path)
            try file.mapIntoMemory()
            let root = try #require(file.root.stored)
            #expect(root.attribute("layer_names")?.strings?.strings == manyNames)
            #expect(root.group("a/b")?.float32Array("/a/b/c/kernel:0")?.shape == [2, 3], "absolute and nested paths")
            #expect(root.group("/a/./b/")?.attributeNames() == ["weight_names"])
            #expect(root.group("a/missing") == nil)
            #expect(root.float32Array("a/b/missing") == nil)
            #expect(try file.root.group("a/b").stored?.childNames() == ["c", "scalar"])
        }
    }

    @Test func mapsTheWholeFileAlongsideWork() throws {
        try withTemporaryPath { path throws in
            // 5 MB of data, not a whole number of pages.
            let count = 1_310_721
            try File.withCreate(path) { try $0.root.createDataset("big", NDArray(shape: [count], scalars: (0..<count).map { Float($0) })) }
            try File.withOpen(path) { file throws in
                var runs = 0
                #expect(
                    try file.mapIntoMemory {
                        runs += 1; return 42
                    } == 42)
                #expect(runs == 1)
                #expect(file.image?.bytes == (try Data(contentsOf: URL(fileURLWithPath: path))))
                #expect(
                    try file.mapIntoMemory {
                        runs += 1; return 7
                    } == 7, "already mapped: only the work runs")
                #expect(runs == 2, "already mapped: only the work runs")
            }
            let writable = try File.open(path, mode: .readWrite)
            #expect(try writable.mapIntoMemory { 1 } == 1, "read-only files only")
            #expect(writable.image == nil, "read-only files only")
        }
    }

    @Test func declinesNewStyleGroups() throws {
        try withTemporaryPath { path throws in
            try File.withCreate(path) { file in
                try file.root.createGroup("tracked", tracksCreationOrder: true).createDataset("x", NDArray([Float(1)]))
                try file.root.createDataset("plain/x", NDArray([Float(1)]))
            }
            let file = try File.open(path)
            try file.mapIntoMemory()
            let root = try #require(file.root.stored)
            #expect(root.childNames() == ["plain", "tracked"])
            #expect(root.group("tracked") == nil)
            #expect(root.float32Array("tracked/x") == nil)
            #expect(try file.root.group("tracked").stored == nil)
            #expect(root.float32Array("plain/x")?.shape == [1])
        }
        try withTemporaryPath { path throws in
            try File.withCreate(path, tracksCreationOrder: true) { try $0.root.createDataset("x", NDArray([Float(1)])) }
            let file = try File.open(path)
            try file.mapIntoMemory()
            #expect(file.root.stored == nil)
        }
    }

    /// One answer of the fast path.
    enum Answer: Equatable {
        case names([String]), attribute(StoredAttribute), array([Int], Data)

        var isRefusal: Bool {
            if case .attribute(let attribute) = self { return attribute.refusal != nil }
            return false
        }
    }

    /// Everything the fast path answers for the h5py fixture's paths.
    private func answers(_ image: FileImage) -> [String: Answer] {
        guard let root = StoredGroup.root(of: image) else { return [:] }
        var result: [String: Answer] = [:]
        for path in ["/", "data", "model", "model/dense"] {
            guard let group = root.group(path) else { continue }
            result["names \(path)"] = group.childNames().map(Answer.names)
            result["attributes \(path)"] = group.attributeNames().map(Answer.names)
            for name in ["title", "names_fixed", "names_vlen_ascii", "names_vlen_utf8", "scale", "version", "weight_names"] {
                result["\(name) of \(path)"] = group.attribute(name).map(Answer.attribute)
            }
        }
        for path in ["model/dense/kernel:0", "model/dense/bias:0", "data/f16", "data/i64"] {
            result[path] = root.float32Array(path).map { Answer.array($0.shape, $0.bytes) }
        }
        return result
    }

    @Test func truncatedBytesGiveNoAnswerOrTheSameOne() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.h5pyWritten))
        let full = answers(FileImage(bytes: bytes, base: 0))
        // Names and attribute names of the 4 groups, 7 attributes, 2 float32 datasets (not f16, i64).
        #expect(full.count == 17, "every path answered on the whole file")
        var partial = 0
        for length in stride(from: 0, to: bytes.count, by: 4) {  // every 4th: the suite runs in debug
            let cut = answers(FileImage(bytes: bytes.prefix(length), base: 0))
            // Strings whose heap the cut removed are refused (an error), never answered differently.
            for (key, value) in cut where !value.isRefusal { #expect(full[key] == value, "\(key) at length \(length)") }
            if !cut.isEmpty, cut.count < full.count { partial += 1 }
        }
        #expect(partial > 0, "some prefixes answer part of the file")
    }

    @Test func corruptedBytesDoNotCrash() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.h5pyWritten))
        let full = answers(FileImage(bytes: bytes, base: 0))
        var changed = 0
        for position in 0..<bytes.count {
            var corrupted = bytes
            corrupted[position] = position.isMultiple(of: 2) ? 0xFF : bytes[position] ^ 0x08  // all ones: undefined addresses, huge counts
            if answers(FileImage(bytes: corrupted, base: 0)) != full { changed += 1 }
        }
        #expect(changed > 500, "the corruptions reached the parsed structures")
    }
}
