import numpy as np
import pytest

from minigpt import gradcheck
from minigpt.finite_diff import numerical_gradient


def test_passes_on_a_right_gradient_and_reports_where():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    result = gradcheck(lambda x: float(np.sum(x**3)), [x], [3 * x**2])
    assert result.ok and result.max_error < 1e-8 and result.n_checked == 4
    assert result.input == 0 and len(result.index) == 2


def test_catches_a_wrong_gradient_and_points_at_it():
    x = np.array([1.0, 2.0, 3.0])
    wrong = 3 * x**2
    wrong[1] *= 1.001  # a 0.1% mistake in one entry
    result = gradcheck(lambda x: float(np.sum(x**3)), [x], [wrong])
    assert not result.ok
    assert result.index == (1,)
    assert result.max_error == pytest.approx(1e-3, rel=0.01)


def test_tiny_gradients_are_judged_on_the_absolute_floor():
    x = np.array([1.0])
    f = lambda x: float(1e-8 * x[0])  # true gradient 1e-8  # noqa: E731
    assert gradcheck(f, [x], [np.array([1.0e-8 + 1e-13])]).ok  # off by 1e-13 absolute: fine
    assert not gradcheck(f, [x], [np.array([3e-8])]).ok  # off by 2e-8: caught


def test_several_inputs_and_sampling():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((30, 30)), rng.standard_normal(30)
    result = gradcheck(lambda a, b: float(np.sum(a @ b)), [a, b], [np.tile(b, (30, 1)), a.sum(0)],
                       n_samples=10)
    assert result.ok and result.n_checked == 20


def test_inputs_are_restored():
    x = np.array([1.0, 2.0])
    numerical_gradient(lambda x: float(x.sum()), [x], 0, (1,))
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_bad_arguments():
    with pytest.raises(TypeError, match="must be float64"):
        gradcheck(lambda x: 0.0, [np.zeros(2, np.float32)], [np.zeros(2)])
    with pytest.raises(TypeError, match="must be a numpy array, got list"):
        gradcheck(lambda x: 0.0, [[1.0]], [np.zeros(1)])
    with pytest.raises(ValueError, match="one gradient per input"):
        gradcheck(lambda x: 0.0, [np.zeros(2)], [])
    with pytest.raises(ValueError, match=r"must have the shape of inputs\[0\] \(2,\), got \(3,\)"):
        gradcheck(lambda x: 0.0, [np.zeros(2)], [np.zeros(3)])


def test_minigpt_gradcheck_is_the_function_only():
    import pkgutil

    import minigpt
    import minigpt.finite_diff

    assert callable(minigpt.gradcheck) and not isinstance(minigpt.gradcheck, type(minigpt))
    assert minigpt.gradcheck is minigpt.finite_diff.gradcheck
    submodules = {info.name for info in pkgutil.iter_modules(minigpt.__path__)}
    assert "finite_diff" in submodules and "gradcheck" not in submodules
