import Foundation
import HDF5
import TestSupport
import Testing

@Suite struct FileTests {
    @Test func createModesAndReopen() throws {
        try withTemporaryPath { path throws in
            try File.withCreate(path) { file throws in
                try file.root.attributes.write(StringArray(scalar: "v1"), named: "version")
            }
            let error = hdf5Error { _ = try File.create(path, mode: .failIfExists) }
            #expect(error?.reason == .fileExists)
            try File.withOpen(path, mode: .readWrite) { file throws in
                #expect(file.mode == .readWrite)
                try file.root.createGroup("added")
            }
            try File.withOpen(path) { file throws in
                #expect(try file.root.attributes.string("version") == "v1")
                #expect(try file.root.contains("added"))
            }
            try File.withCreate(path) { file throws in
                #expect(try file.root.childNames().isEmpty)
            }
        }
    }

    @Test func zeroByteFile() throws {
        try withTemporaryPath { path throws in
            _ = FileManager.default.createFile(atPath: path, contents: Data())
            let error = hdf5Error { _ = try File.open(path) }
            #expect(error?.reason == .emptyFile)
            #expect(error?.description == "cannot open \(path): not an HDF5 file (zero bytes)")
        }
    }

    @Test func textFile() throws {
        try withTemporaryPath(".txt") { path throws in
            _ = FileManager.default.createFile(atPath: path, contents: Data("hello, not HDF5\n".utf8))
            #expect(hdf5Error { _ = try File.open(path) }?.reason == .notHDF5)
        }
    }

    @Test func directoryAndMissingFile() throws {
        let directory = FileManager.default.temporaryDirectory.path
        #expect(hdf5Error { _ = try File.open(directory) }?.reason == .isDirectory)
        #expect(hdf5Error { _ = try File.create(directory) }?.reason == .isDirectory)
        try withTemporaryPath { path throws in
            let error = hdf5Error { _ = try File.open(path) }
            #expect(error?.reason == .fileNotFound)
            #expect(error?.description == "cannot open \(path): no such file")
        }
    }

    @Test func truncatedFileFailsWithoutCrashing() throws {
        try withTemporaryPath { path throws in
            try File.withCreate(path) { file throws in
                try file.root.createDataset("big", NDArray((0..<4096).map(Float.init)))
            }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for length in [bytes.count / 2, 1024, 100] {
                try bytes.prefix(length).write(to: URL(fileURLWithPath: path))
                let error = hdf5Error {
                    try File.withOpen(path) { _ = try $0.root.dataset("big").read(as: Float.self) }
                }
                #expect(error != nil, "cut to \(length) bytes")
            }
        }
    }

    @Test func writingThroughReadOnlyFileIsAnError() throws {
        try withTemporaryPath { path throws in
            try File.withCreate(path) { try $0.root.createGroup("g") }
            try File.withOpen(path, mode: .readOnly) { file throws in
                let group = try file.root.group("g")
                let errors = [
                    hdf5Error { try group.createGroup("h") },
                    hdf5Error { try group.createDataset("d", NDArray([1.0])) },
                    hdf5Error { try group.attributes.write(NDArray(scalar: 1.0), named: "a") }
                ]
                #expect(errors.allSatisfy { $0?.reason == .readOnly })
                #expect(errors[0]?.description == "group /g/h in \(path): cannot create group: file is open read-only")
            }
        }
    }

    @Test func childrenKeepTheirFileOpen() throws {
        try withTemporaryPath { path throws in
            try File.withCreate(path) { try $0.root.createDataset("d", NDArray([Int32(7)])) }
            let dataset = try File.withOpen(path) { try $0.root.dataset("d") }
            #expect(try dataset.read(as: Int32.self).scalars == [7])
            #expect(dataset.file.path == path)
        }
    }

    @Test func tenThousandCyclesLeakNoIdentifiers() throws {
        try withTemporaryPath { path throws in
            try File.withCreate(path) { file throws in
                let group = try file.root.createGroup("g")
                try group.createDataset("d", NDArray(shape: [2, 2], scalars: [Float](repeating: 1, count: 4)))
                try group.attributes.write(StringArray(["a", "b"]), named: "names")
            }
            for _ in 0..<10_000 {
                try File.withOpen(path) { file throws in
                    let group = try file.root.group("g")
                    _ = try group.dataset("d").read(as: Float.self)
                    _ = try group.attributes.stringArray("names")
                    _ = try group.childNames(order: .creation)
                }
                _ = hdf5Error { _ = try File.withOpen(path) { try $0.root.dataset("d").read(as: Int64.self) } }
            }
            #expect(File.openObjectCount(inFileAt: path) == 0)
            let file = try File.open(path)
            let dataset = try file.root.dataset("g/d")
            #expect(File.openObjectCount(inFileAt: path) == 3)  // file, root group, dataset
            _ = dataset
        }
    }
}
