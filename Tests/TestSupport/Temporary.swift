import Foundation

/// A unique path in the temporary folder ending in `name`; the caller removes what it writes there.
public func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("densenet-io-tests-\(UUID().uuidString)-\(name)").path
}

/// Runs `body` with a unique temporary path ending in `name`, removed afterwards.
public func withTemporaryPath<R>(_ name: String = "file.h5", _ body: (String) throws -> R) throws -> R {
    let path = temporaryPath(name)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// A fresh temporary folder for one test; the caller removes it.
public func temporaryFolder() throws -> URL {
    let url = URL(fileURLWithPath: temporaryPath("folder"))
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension URL {
    /// Writes `bytes` to the file `name` in this folder; returns its path.
    @discardableResult
    public func writeFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file.path
    }
}

/// The error of type `E` that `body` throws; nil when it returns or throws another type (so an
/// expectation on the error fails).
public func thrownError<E: Error, T>(_: E.Type, _ body: () throws -> T) -> E? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? E
    }
}
