import Foundation
import HDF5
import TestSupport
import Testing

/// Which files the project's byte reader covers whole (`File.byteReaderCovers`), and that libhdf5 opens
/// no other read-only file before `File.uncoveredFileCheck` has answered.
@Suite struct ByteReaderCoverageTests {
    /// What Keras writes without an optimizer's integer iteration count: float32 weights in old-style groups.
    @Test(arguments: [
        "keras/tutorial_tfkeras.h5", "keras/densenet_small_tfkeras.h5", "keras/densenet_small_tfkeras_weights.h5",
        "keras/tutorial_keras3.weights.h5", "keras/densenet_small_keras3.weights.h5"
    ])
    func coversKerasWeights(_ relative: String) throws {
        let path = Fixture.path(relative)
        #expect(File.byteReaderCovers(fileAt: path))
        #expect(File.byteReaderCovers(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// Integer datasets (tf-keras' optimizer `iter`), h5py's other types and a non-HDF5 file are not covered.
    @Test(arguments: ["keras/tutorial_tfkeras_opt.h5", "hdf5/h5py_written.h5", "keras/tutorial_keras3.keras"])
    func declinesOtherLayouts(_ relative: String) {
        #expect(!File.byteReaderCovers(fileAt: Fixture.path(relative)))
    }

    @Test func anUncoveredFileGoesToTheCheckBeforeLibhdf5() throws {
        struct Refused: Error {}
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let uncovered = folder.appendingPathComponent("optimizer.h5").path, covered = Fixture.path("keras/tutorial_tfkeras.h5")
        try FileManager.default.copyItem(atPath: Fixture.path("keras/tutorial_tfkeras_opt.h5"), toPath: uncovered)
        let asked = Asked()
        // Other suites open files meanwhile: only these two paths are looked at, only the copy refused.
        File.uncoveredFileCheck = { file in
            guard file.name == uncovered || file.name == covered else { return }
            asked.append(file.name)
            if file.name == uncovered { throw Refused() }
        }
        defer { File.uncoveredFileCheck = nil }
        #expect(throws: Refused.self) { try File.open(uncovered) }
        #expect(throws: Refused.self) { try File.open(image: Data(contentsOf: URL(fileURLWithPath: uncovered)), name: uncovered) }
        #expect(try File.open(uncovered, mode: .readWrite).root.childNames().isEmpty == false)
        _ = try File.open(covered)
        #expect(asked.names == [uncovered, uncovered])
    }
}

private final class Asked: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    var names: [String] { lock.withLock { recorded } }
    func append(_ name: String) { lock.withLock { recorded.append(name) } }
}
