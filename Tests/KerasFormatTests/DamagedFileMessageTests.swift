import DenseNetEngine
import Foundation
import KerasFormat
import TestSupport
import Testing
import ZIPFoundation

/// Damaged files are described in the user's words: the file they named, never the temporary file
/// an archive's weights are extracted to, and not libhdf5's internal names.
@Suite struct DamagedFileMessageTests {
    @Test func aTruncatedHDF5FileSaysHowMuchIsThere() throws {
        let bytes = try #require(FileManager.default.contents(atPath: Fixture.tfKerasWeights))
        let path = temporaryPath("truncated.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try bytes.prefix(300).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: KerasFormatError.self) { try makeMiniModel().loadWeights(from: path) }
        #expect(
            error?.description
                == "\(path): not a Keras, HDF5 or safetensors file the toolkit knows, found cannot open \(path): truncated: 300 of \(bytes.count) bytes"
        )
    }

    @Test func aDamagedArchiveEntryIsNamedInsideTheArchive() throws {
        let path = temporaryPath("damaged.keras")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for (name, data) in try archiveEntries(Fixture.keras3Archive) {
            let stored =
                name == "model.weights.h5"
                ? Data([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 200)) : data
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(stored.count)) { position, size in
                stored.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
        let temporaryFolder = FileManager.default.temporaryDirectory.path
        let listing = #expect(throws: KerasFormatError.self) { try WeightListing.read(path) }
        let loading = #expect(throws: KerasFormatError.self) { try makeMiniModel().loadWeights(from: path) }
        for error in [listing, loading] {
            let message = error?.description ?? ""
            #expect(message.hasPrefix("\(path), "), "\(message)")
            #expect(message.contains("model.weights.h5"), "\(message)")
            let otherPaths = message.replacingOccurrences(of: path, with: "").contains(temporaryFolder)
            #expect(!otherPaths && !message.contains("H5Fopen"), "\(message)")
        }
    }
}
