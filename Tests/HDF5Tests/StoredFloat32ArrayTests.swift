@testable import HDF5
import Testing
import TestSupport

@Suite struct StoredFloat32ArrayTests {
    private func storedValues(_ file: File, _ path: String) -> [Float]? {
        file.root.stored?.float32Array(path).map { stored in
            stored.bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
    }

    @Test func matchesLibhdf5ForFloat32AndDeclinesTheRest() throws {
        try withTemporaryPath { path throws in
            try File.withCreate(path) { file in
                for (index, shape) in testShapes.enumerated() {
                    try file.root.createDataset(
                        "f32/\(index)", NDArray(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float($0) - 2.5 }))
                }
                try file.root.createDataset("f64", NDArray(shape: [2], scalars: [1.0, 2.0]))
                try file.root.createDataset("i32", NDArray(shape: [2], scalars: [Int32(1), 2]))
            }
            let file = try File.open(path)
            #expect(file.root.stored?.float32Array("f32/1") == nil, "not read into memory yet")
            try file.mapIntoMemory()
            for (index, shape) in testShapes.enumerated() where !shape.contains(0) {
                let stored = try #require(file.root.stored?.float32Array("f32/\(index)"))
                #expect(stored.shape == shape)
                #expect(storedValues(file, "f32/\(index)") == (try file.root.dataset("f32/\(index)").read(as: Float.self).scalars))
            }
            // Empty (unallocated), other types and missing names are left to libhdf5.
            #expect(file.root.stored?.float32Array("f32/5") == nil)
            #expect(file.root.stored?.float32Array("f64") == nil)
            #expect(file.root.stored?.float32Array("i32") == nil)
            #expect(file.root.stored?.float32Array("missing") == nil)
            #expect(file.root.stored?.float32Array("f32") == nil, "a group")
        }
    }

    @Test func readsWhatH5pyWrote() throws {
        let file = try File.open(Fixture.h5pyWritten)
        try file.mapIntoMemory()
        for path in ["model/dense/kernel:0", "model/dense/bias:0"] {
            let expected = try file.root.dataset(path).read(as: Float.self)
            #expect(file.root.stored?.float32Array(path)?.shape == expected.shape)
            #expect(storedValues(file, path) == expected.scalars)
        }
        #expect(file.root.stored?.float32Array("data/f16") == nil)
    }
}
