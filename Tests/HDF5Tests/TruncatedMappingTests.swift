import Foundation
import HDF5
import TestSupport
import Testing

/// A mapped file another process truncates: reads past its new end give zeros instead of SIGBUS, and
/// `File.checkMappedBytes` says so (the truncation is done here, in-process, so it is deterministic).
@Suite struct TruncatedMappingTests {
    @Test func readsPastTheNewEndGiveZerosAndAnError() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("weights.h5").path
        try FileManager.default.copyItem(atPath: Fixture.path("keras/densenet_small_tfkeras_weights.h5"), toPath: path)
        let file = try File.open(path)
        try file.mapIntoMemory()
        let layer = try #require(
            try file.root.attributes.stringArray("layer_names").last {
                try !file.root.group($0).attributes.stringArray("weight_names").isEmpty
            })
        let weight = try #require(try file.root.group(layer).attributes.stringArray("weight_names").last)
        let bytes = try file.root.group(layer).dataset(weight).readFloat32Bytes()
        #expect(bytes.contains { $0 != 0 })
        try file.checkMappedBytes()

        #expect(truncate(path, 4096) == 0)
        #expect([UInt8](bytes).allSatisfy { $0 == 0 })
        let error = #expect(throws: HDF5Error.self) { try file.checkMappedBytes() }
        #expect(error?.reason == .truncated)
        #expect(error?.description.contains(path) == true)
    }
}
