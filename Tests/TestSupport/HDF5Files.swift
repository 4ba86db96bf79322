import HDF5

/// Runs `body` with a fresh file created at a temporary path, removed afterwards.
public func withTemporaryFile<R>(tracksCreationOrder: Bool = false, _ body: (File) throws -> R) throws -> R {
    try withTemporaryPath { path throws in
        try File.withCreate(path, tracksCreationOrder: tracksCreationOrder, body)
    }
}

/// Shapes of rank 0 through 4, plus empty extents.
public let testShapes: [[Int]] = [[], [3], [2, 3], [2, 1, 3], [1, 2, 2, 3], [0], [2, 0]]

/// The `HDF5Error` thrown by `body`, or nil if it did not throw one.
public func hdf5Error(_ body: () throws -> Void) -> HDF5Error? { thrownError(HDF5Error.self, body) }

/// Replaces the dataset at `path` of an HDF5 file with `array` (same name, new values or shape).
public func replaceDataset(in file: String, at path: String, with array: NDArray<Float>) throws {
    let root = try File.open(file, mode: .readWrite).root
    try root.unlink(path)
    try root.createDataset(path, array)
}
