"""Training helpers shared by the compression lessons: one recipe, so results compare."""

from __future__ import annotations

__all__ = ["accuracy", "compile_model", "fit"]


def compile_model(model, learning_rate: float = 3e-3):
    """Compile for integer labels with Adam and accuracy (no XLA: faster on a laptop CPU)."""
    import keras

    if (
        isinstance(learning_rate, bool)
        or not isinstance(learning_rate, (int, float))
        or not (learning_rate > 0)
    ):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


def fit(
    model, train, epochs: int = 8, batch_size: int = 64, learning_rate: float = 3e-3, callbacks=()
):
    """Compile (if needed) and train quietly on ``train = (x, y)``; return the Keras history."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not getattr(model, "compiled", False):
        compile_model(model, learning_rate)
    x, y = train
    return model.fit(
        x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=list(callbacks)
    )


def accuracy(model, data, batch_size: int = 256) -> float:
    """Top-1 accuracy of a Keras model on ``data = (x, y)`` (integer labels)."""
    import numpy as np

    x, y = data
    predictions = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(predictions, axis=-1) == np.asarray(y)))
