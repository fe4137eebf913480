import seawall


def test_the_extension_is_built_and_importable() -> None:
    assert seawall.__version__ == "0.1.0"
