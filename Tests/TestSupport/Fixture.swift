import Foundation

/// Files under the repository's Fixtures/ folder, written by real Keras and h5py.
public enum Fixture {
    public static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    public static func path(_ relative: String) -> String { folder.appendingPathComponent(relative).path }

    public static let tfKerasWeights = path("keras/tutorial_tfkeras.h5")
    public static let tfKerasReference = path("keras/tutorial_tfkeras_io.h5")
    public static let keras3Weights = path("keras/tutorial_keras3.weights.h5")
    public static let keras3Reference = path("keras/tutorial_keras3_io.h5")
    public static let keras3Archive = path("keras/tutorial_keras3.keras")
}
