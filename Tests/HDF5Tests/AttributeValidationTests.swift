import Foundation
import TestSupport
@testable import HDF5
import Testing

/// The coverage walk's attribute check (`ImageReader.decodesOrRefuses`, which builds no string) gives
/// the answer decoding would: strings, a refusal or no elements.
@Suite struct AttributeValidationTests {
    /// Files written by h5py and Keras, and hostile ones whose attributes decode to nil or are refused.
    /// (The walk reaches no attribute in tensorflow_kernels.h5.)
    static let files =
        StoredGroupTests.writtenByH5py.filter { !$0.hasSuffix("tensorflow_kernels.h5") }
        + [
            "hostile/h5_layer_names_bomb.h5", "hostile/fuzz_libhdf5_global_heap.h5", "hostile/fuzz_libhdf5_global_heap_declined.h5",
            "hostile/tfkeras_training_config_surrogate.h5"
        ].map(Fixture.path)

    @Test(arguments: files)
    func validatesAsDecodingAnswers(_ path: String) throws {
        let image = try #require(FileImage(unopened: try Data(contentsOf: URL(fileURLWithPath: path))))
        let root = try #require(image.rootAddress)
        let checked = image.reading { reader -> Int? in
            var visited: Set<Int> = [], pending = [root], checked = 0
            while let at = pending.popLast() {
                guard visited.insert(at).inserted else { continue }
                for message in reader.attributeMessages(ofHeaderAt: at) ?? [] {
                    let decoded = reader.decode(message).map { $0.strings != nil || $0.refusal != nil || $0.shape.contains(0) } ?? false
                    #expect(reader.decodesOrRefuses(message) == decoded, "\(reader.name(message)) of the header at \(at) in \(path)")
                    checked += 1
                }
                pending += reader.symbolTable(ofGroupAt: at).flatMap(reader.linkTargets) ?? []
            }
            return checked
        }
        #expect(checked ?? 0 > 0, "no attribute found in \(path)")
    }
}
