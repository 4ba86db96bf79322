import DenseNetEngine
import Foundation
import HDF5
import TestSupport
import Testing
@testable import KerasFormat

@Suite struct DiffTests {
    /// The tf-keras fixture converted through the model to `format`.
    static func converted(_ source: String, to format: WeightFileFormat, _ name: String) throws -> String {
        let model = try makeMiniModel()
        try model.loadWeights(from: source)
        let path = temporaryPath(name)
        try model.saveWeights(to: path, format: format)
        return path
    }

    @Test func aFileEqualsItself() throws {
        let listing = try WeightListing.read(Fixture.tfKerasWeights)
        let diff = try WeightDiff.compare(listing, listing)
        let count = try makeMiniModel().weights.count
        #expect(diff.isEqual)
        #expect(diff.identity == MatchingRule.position.rawValue && diff.renamedCount == 0)
        #expect(diff.entries.count == count)
    }

    @Test(arguments: [WeightFileFormat.keras3Weights, .safetensors])
    func crossFormatCopiesAreEqual(format: WeightFileFormat) throws {
        let path = try Self.converted(Fixture.tfKerasWeights, to: format, "copy.\(format)")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let diff = try WeightDiff.compare(WeightListing.read(Fixture.tfKerasWeights), WeightListing.read(path))
        #expect(diff.identity == "Keras layer name and position")
        #expect(diff.isEqual, "\(diff.entries.filter { $0.status != .equal })")
        let count = try makeMiniModel().weights.count
        #expect(diff.entries.count == count)
        #expect(diff.entries.allSatisfy { $0.maxAbsolute == 0 })
    }

    @Test func differentTrainingRunsDiffer() throws {
        let diff = try WeightDiff.compare(WeightListing.read(Fixture.tfKerasWeights), WeightListing.read(Fixture.keras3Weights))
        #expect(!diff.isEqual)
        #expect(diff.entries.allSatisfy { $0.status == .equal || $0.status == .different })
        let loose = try WeightDiff.compare(WeightListing.read(Fixture.tfKerasWeights), WeightListing.read(Fixture.keras3Weights), atol: 1e9)
        #expect(loose.isEqual)
    }

    @Test func changedValueIsReportedWithItsDifference() throws {
        let path = try brokenCopy(of: Fixture.tfKerasWeights, "changed.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let original = try File.open(Fixture.tfKerasWeights).root.dataset("dense_1/dense_net/dense_1/bias:0").read(as: Float.self)
        var changed = original
        changed.scalars[3] += 0.5
        try replaceDataset(in: path, at: "dense_1/dense_net/dense_1/bias:0", with: changed)
        let diff = try WeightDiff.compare(WeightListing.read(Fixture.tfKerasWeights), WeightListing.read(path))
        let entry = try #require(diff.entries.first { $0.status != .equal })
        #expect(entry.status == .different)
        #expect(entry.name == "dense_1/dense_net/dense_1/bias:0")
        #expect(entry.layer == "dense_1")
        #expect(entry.mismatched == 1)
        #expect(entry.maxAbsolute.map { abs($0 - 0.5) < 1e-6 } == true, "\(String(describing: entry.maxAbsolute))")
        #expect(try WeightDiff.compare(WeightListing.read(Fixture.tfKerasWeights), WeightListing.read(path), atol: 0.6).isEqual)
    }

    @Test func swappedShapesAndMissingLayersAreReported() throws {
        let path = try brokenCopy(of: Fixture.tfKerasWeights, "swapped.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let kernel = try File.open(Fixture.tfKerasWeights).root.dataset("dense_1/dense_net/dense_1/kernel:0").read(as: Float.self)
        try replaceDataset(in: path, at: "dense_1/dense_net/dense_1/kernel:0", with: NDArray(shape: [10, 128], scalars: kernel.scalars))
        let swapped = try WeightDiff.compare(WeightListing.read(Fixture.tfKerasWeights), WeightListing.read(path))
        let entry = try #require(swapped.entries.first { $0.status != .equal })
        #expect(entry.status == .shapeMismatch)
        #expect(entry.shapeA == [128, 10])
        #expect(entry.shapeB == [10, 128])

        // A Keras 3 copy without one layer's vars: missing on one side, extra on the other.
        let keras3 = try Self.converted(Fixture.tfKerasWeights, to: .keras3Weights, "missing.weights.h5")
        defer { try? FileManager.default.removeItem(atPath: keras3) }
        try File.open(keras3, mode: .readWrite).root.unlink("dense2")
        let missing = try WeightDiff.compare(WeightListing.read(Fixture.tfKerasWeights), WeightListing.read(keras3))
        #expect(missing.entries.filter { $0.status == .missing }.map(\.layer) == ["dense_1", "dense_1"])
        let extra = try WeightDiff.compare(WeightListing.read(keras3), WeightListing.read(Fixture.tfKerasWeights))
        #expect(extra.entries.filter { $0.status == .extra }.count == 2)
    }

    @Test func optimizerStateIsComparedOnlyWithinAFamily() throws {
        let archive = try WeightListing.read(Fixture.path("keras/tutorial_keras3.keras"))
        let weights = try WeightListing.read(Fixture.keras3Weights)
        let same = try WeightDiff.compare(weights, archive)
        #expect(same.entries.filter { $0.status == .extra }.allSatisfy { $0.name.hasPrefix("optimizer/") })
        #expect(same.entries.filter { $0.status != .extra }.allSatisfy { $0.status == .equal })
        let cross = try WeightDiff.compare(WeightListing.read(Fixture.tfKerasWeights), archive, atol: 1e9)
        #expect(cross.isEqual)
        #expect(!cross.skipped.isEmpty)
    }
}
