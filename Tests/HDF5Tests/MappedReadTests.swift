import Foundation
import HDF5
import Testing
import TestSupport

/// `Group`, `Attributes` and `Dataset` of a mapped file (reading the bytes first, libhdf5 second)
/// against the same file unmapped (libhdf5 only): every answer and every error must be the same.
@Suite struct MappedReadTests {
    /// What a read gave: its value or its error.
    enum Outcome<Value: Equatable>: Equatable {
        case value(Value), error(HDF5Error)
    }

    private func outcome<Value: Equatable>(_ read: () throws -> Value) -> Outcome<Value> {
        do {
            return .value(try read())
        } catch {
            return .error(error as! HDF5Error)
        }
    }

    /// Walks `reference` (unmapped) and `mapped` side by side; counts the datasets compared.
    private func compare(_ mapped: Group, _ reference: Group, _ datasets: inout Int) throws {
        let names = try reference.childNames()
        #expect(try mapped.childNames() == names, "\(reference.path)")
        #expect(try mapped.childNames(order: .creation) == reference.childNames(order: .creation))
        let attributeNames = try reference.attributes.names()
        #expect(try mapped.attributes.names() == attributeNames)
        for name in attributeNames + ["missing"] {
            let (a, b) = (mapped.attributes, reference.attributes)
            #expect(try a.contains(name) == b.contains(name))
            #expect(outcome { try a.attribute(name).shape() } == outcome { try b.attribute(name).shape() }, "\(name)")
            #expect(outcome { try a.attribute(name).dataType() } == outcome { try b.attribute(name).dataType() })
            #expect(outcome { try a.attribute(name).readStrings() } == outcome { try b.attribute(name).readStrings() })
            #expect(outcome { try a.attribute(name).readRawBytes() } == outcome { try b.attribute(name).readRawBytes() })
        }
        for name in names + ["missing"] {
            #expect(try mapped.contains(name) == reference.contains(name))
            #expect(outcome { try mapped.kind(of: name) } == outcome { try reference.kind(of: name) })
            #expect(outcome { try mapped.dataset(name).shape() } == outcome { try reference.dataset(name).shape() }, "\(name)")
            #expect(outcome { try mapped.dataset(name).dataType() } == outcome { try reference.dataset(name).dataType() })
            #expect(outcome { try mapped.dataset(name).readFloat32Bytes() } == outcome { try reference.dataset(name).readFloat32Bytes() })
            #expect(outcome { try mapped.dataset(name).readRawBytes() } == outcome { try reference.dataset(name).readRawBytes() })
            #expect(outcome { try mapped.group(name).path } == outcome { try reference.group(name).path })
            if (try? reference.kind(of: name)) == .dataset { datasets += 1 }
            if (try? reference.kind(of: name)) == .group { try compare(mapped.group(name), reference.group(name), &datasets) }
        }
    }

    private func compareWholeFile(_ path: String) throws -> Int {
        let mapped = try File.open(path)
        try mapped.mapIntoMemory()
        var datasets = 0
        try compare(mapped.root, File.open(path).root, &datasets)
        return datasets
    }

    @Test(arguments: StoredGroupTests.writtenByH5py) func answersAsLibhdf5OnFilesWrittenByH5pyAndKeras(_ path: String) throws {
        #expect(try compareWholeFile(path) > 0)
    }

    /// A file with what the bytes decline beside what they read: a group that tracks creation order,
    /// other types, strings, an empty dataset, attributes on datasets.
    private func writeMixedFile(_ path: String) throws {
        try File.withCreate(path) { file in
            let root = file.root
            let tracked = try root.createGroup("tracked", tracksCreationOrder: true)
            try tracked.createDataset("z", NDArray(shape: [2], scalars: [Float(1), 2]))
            try tracked.createDataset("a", NDArray([Float(3)]))
            try tracked.attributes.write(StringArray(["z", "a"], format: .variableASCII), named: "weight_names")
            try root.createDataset("plain/kernel:0", NDArray(shape: [2, 2], scalars: [Float(1), -0.0, .nan, 4]))
            try root.createDataset("plain/f64", NDArray([1.0, 2.0]))
            try root.createDataset("plain/empty", NDArray(shape: [0], scalars: [Float]()))
            try root.createDataset("plain/strings", strings: StringArray(["x", "yz"]))
            try root.dataset("plain/kernel:0").attributes.write(StringArray(scalar: "on a dataset"), named: "note")
            try root.group("plain").attributes.write(StringArray(["kernel:0"], format: .variableASCII), named: "weight_names")
            try root.group("plain").attributes.write(NDArray<Double>([]), named: "empty_names")
        }
    }

    @Test func answersAsLibhdf5OnFilesWrittenHere() throws {
        try withTemporaryPath { path throws in
            try writeMixedFile(path)
            #expect(try compareWholeFile(path) == 6)
        }
    }

    /// The float32 weights the group `name` lists in its `weight_names`.
    private static func weights(in root: Group, _ name: String) throws -> [Data] {
        let group = try root.group(name)
        return try group.attributes.stringArray("weight_names").map { try group.dataset($0).readFloat32Bytes() }
    }

    /// Reads spread over threads, the libhdf5 fallbacks among them (the tracked group's), give what
    /// the same reads give in order on an unmapped file.
    @Test func readsOnSeveralThreadsAnswerAsInOrder() throws {
        try withTemporaryPath { path throws in
            try writeMixedFile(path)
            let groups = Array(repeating: ["tracked", "plain"], count: 50).flatMap { $0 }
            let reference = try File.open(path).root
            let expected = try groups.map { try Self.weights(in: reference, $0) }
            let mapped = try File.open(path)
            try mapped.mapIntoMemory()
            let root = mapped.root
            let found = try Concurrently.map(groups) { try Self.weights(in: root, $0) }
            #expect(found == expected)
        }
    }

    @Test func concurrentMapKeepsOrderAndThrowsTheFirstFailure() throws {
        struct Failure: Error, Equatable { let index: Int }
        #expect(try Concurrently.map(Array(0..<1000)) { $0 * 2 } == (0..<1000).map { $0 * 2 })
        #expect(throws: Failure(index: 3)) {
            try Concurrently.map(Array(0..<1000)) { index in
                if index % 100 == 3 { throw Failure(index: index) }
                return index
            }
        }
        var runs = [Bool](repeating: false, count: 64)
        runs.withUnsafeMutableBufferPointer { runs in Concurrently.forEach(runs.count) { runs[$0] = true } }
        #expect(runs.allSatisfy { $0 })
    }
}
