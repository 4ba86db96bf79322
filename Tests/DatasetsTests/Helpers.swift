import Datasets
import Foundation

/// A fresh temporary folder for one test, removed by `cleanup()`.
struct TempFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("datasets-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }
}

/// The repository's Fixtures/idx folder (found from this source file's path).
let fixturesIDX: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }  // Helpers.swift, DatasetsTests, Tests
    return url.appendingPathComponent("Fixtures/idx").path
}()

/// An IDX ubyte file with the given shape and bytes, built by hand (independent of `IDX.encode`).
func idxBytes(type: UInt8 = 0x08, shape: [Int], payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0, 0, type, UInt8(shape.count)]
    for d in shape { out += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
    return out + payload
}

/// Images and labels of a small MNIST-like split: pixel = (n * 7 + i) % 256, label = n % 10.
func syntheticSplit(count: Int, height: Int = 4, width: Int = 3) -> (images: [UInt8], labels: [UInt8]) {
    let size = height * width
    let pixels = (0..<(count * size)).map { UInt8((($0 / size) * 7 + $0 % size) % 256) }
    let labels = (0..<count).map { UInt8($0 % 10) }
    return (idxBytes(shape: [count, height, width], payload: pixels), idxBytes(shape: [count], payload: labels))
}

/// Writes a complete four-file MNIST folder (train `trainCount` samples, test `testCount`).
func writeMNISTFolder(_ folder: TempFolder, trainCount: Int = 6, testCount: Int = 2, gzip: Bool = false) throws {
    for (split, count) in [(Split.train, trainCount), (Split.test, testCount)] {
        let (images, labels) = syntheticSplit(count: count)
        let suffix = gzip ? ".gz" : ""
        try folder.write(MNISTFolder.canonicalName(split, .images) + suffix, gzip ? Gzip.compress(images) : images)
        try folder.write(MNISTFolder.canonicalName(split, .labels) + suffix, gzip ? Gzip.compress(labels) : labels)
    }
}

/// Runs `body` and returns the DatasetError it throws (nil when it does not throw, or throws something else).
func datasetError<T>(_ body: () throws -> T) -> DatasetError? {
    do {
        _ = try body()
        return nil
    } catch let error as DatasetError {
        return error
    } catch {
        return nil
    }
}
