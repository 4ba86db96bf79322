import DenseNetEngine
import Foundation
import KerasFormat
import TestSupport
import Testing

/// The DocC Getting Started article's code is `GettingStartedSnippet.swift`, compiled with the tests.
@Suite struct GettingStartedTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let article = tests.appendingPathComponent("../../Sources/KerasFormat/KerasFormat.docc/GettingStarted.md").standardized

    @Test func theArticleShowsTheCompiledSnippet() throws {
        let article = try String(contentsOf: Self.article, encoding: .utf8)
        let snippet = try String(contentsOf: Self.tests.appendingPathComponent("GettingStartedSnippet.swift"), encoding: .utf8)
        let blocks = article.components(separatedBy: "```swift\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks == [snippet])
    }

    /// The snippet classifies Keras' reference inputs as Keras did and writes a file that reads back.
    @Test func theSnippetRunsOnTheTFKerasFixture() throws {
        let reference = try readReference(Fixture.tfKerasReference)
        let count = reference.inputs.count / 784
        let output = temporaryPath("mini.safetensors")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (probabilities, classes) = try classifyAndConvert(
            kerasFile: Fixture.tfKerasWeights, images: Tensor(shape: [count, 28, 28, 1], scalars: reference.inputs),
            safetensorsFile: output)
        let kerasClasses = (0..<count).map { row in (0..<10).max { reference.outputs[row * 10 + $0] < reference.outputs[row * 10 + $1] }! }
        #expect(probabilities.shape == [count, 10])
        #expect(maxAbsDifference(probabilities.scalars, reference.outputs) < 1e-5)
        #expect(classes == kerasClasses)
        #expect(try WeightFile(output).format == .safetensors)
    }
}
