import pytest
import torch

from factordiff.config import ConfigError, ModelConfig, RunConfig, apply_overrides
from factordiff.diffusion import capture
from factordiff.unet import UNet, count_parameters, sinusoidal

SMALL = ModelConfig(base=8, pe_dim=16, attention=("layer4",))


def test_paper_network_size():
    n = count_parameters(UNet(ModelConfig()))
    assert abs(n - 23.3e6) / 23.3e6 < 0.01  # docs/papers.md §1.2: ≈ 23.3 M (big bottleneck, 1 channel)
    assert abs(count_parameters(UNet(ModelConfig(bottleneck="light"))) - 16.9e6) / 16.9e6 < 0.02


def test_shapes_and_recorded_layers():
    torch.manual_seed(0)
    model = UNet(ModelConfig(base=64, attention=()), image_size=32).eval()
    x = torch.randn(2, 1, 32, 32)
    layers = ("inc", "layer0", "layer1", "layer2", "bottleneck", "layer3", "layer4", "layer5")
    with capture(model, layers, timesteps={7}) as rec, torch.no_grad():
        out = model(x, torch.tensor([7, 7]), torch.tensor([[3.0, 4.0], [20.0, 30.0]]))
    assert out.shape == x.shape
    shapes = {k: tuple(v[0].shape[1:]) for k, v in rec.items()}
    assert shapes == {"inc": (64, 32, 32), "layer0": (128, 16, 16), "layer1": (256, 8, 8), "layer2": (256, 4, 4),
                      "bottleneck": (256, 4, 4), "layer3": (128, 8, 8), "layer4": (64, 16, 16),
                      "layer5": (64, 32, 32)}  # docs/papers.md §1.2: layer 4 = 64×16×16
    assert all(len(m._forward_hooks) == 0 and len(m._forward_pre_hooks) == 0 for m in model.modules())


def test_hooks_removed_on_error_and_timestep_filter():
    model = UNet(SMALL, image_size=16).eval()
    x, lab = torch.randn(1, 1, 16, 16), torch.tensor([[5.0, 6.0]])
    with pytest.raises(RuntimeError), capture(model, ["layer4"]) as rec:
        model(x, torch.tensor([3]), lab)  # t = 3 is not recorded (default: final step 0 only)
        assert rec["layer4"] == []
        raise RuntimeError("boom")
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    with pytest.raises(KeyError, match="layer9"), capture(model, ["layer9"]):
        pass


def test_conditioning_changes_output():
    torch.manual_seed(0)
    model = UNet(SMALL, image_size=16).eval()
    x, t = torch.randn(1, 1, 16, 16), torch.tensor([10])
    with torch.no_grad():
        a = model(x, t, torch.tensor([[5.0, 6.0]]))
        b = model(x, t, torch.tensor([[5.0, 9.0]]))
        c = model(x, t, torch.tensor([[8.0, 6.0]]))
    assert (a - b).abs().max() > 1e-4 and (a - c).abs().max() > 1e-4


def test_periodic_label_encoding_is_periodic():
    v = torch.tensor([1.5, 1.5 + 32.0])
    pe = sinusoidal(v, 16, period=32.0)
    torch.testing.assert_close(pe[0], pe[1], atol=1e-4, rtol=0)
    assert not torch.allclose(sinusoidal(v, 16)[0], sinusoidal(v, 16)[1])


def test_label_codes_on_the_circle():
    """"periodic" (harmonics 1…pe_dim/2) makes integer labels of N = 16 exactly orthogonal, a one-hot code in
    disguise; "periodic_smooth" (harmonics 1…2, cycled) keeps neighbours alike and is still periodic."""
    mu = torch.arange(16.0)
    full = sinusoidal(mu, 32, period=16.0)
    cos = torch.nn.functional.cosine_similarity(full[:, None], full[None], dim=-1)
    assert cos[0, 1].abs() < 1e-4 and cos[0, 8].abs() < 1e-4
    smooth = sinusoidal(torch.cat([mu, mu[:1] + 16]), 32, period=16.0, harmonics=2)
    torch.testing.assert_close(smooth[0], smooth[16], atol=1e-4, rtol=0)
    c = torch.nn.functional.cosine_similarity(smooth[0], smooth[1], dim=0)
    assert 0.8 < c < 0.83  # (cos 2π/16 + cos 4π/16) / 2 = 0.815
    net = UNet(ModelConfig(base=8, pe_dim=16, label_encoding="periodic_smooth"), 16)
    e = net.embed(torch.zeros(2, dtype=torch.long), torch.tensor([[1.0, 3.0], [17.0, 19.0]]))
    torch.testing.assert_close(e[0], e[1], atol=1e-4, rtol=0)


@pytest.mark.parametrize("padding,equivariant", [("circular", True), ("zeros", False)])
def test_circular_padding_makes_the_network_shift_equivariant(padding, equivariant):
    """Circular padding wraps every convolution and the upsampling: the network commutes with circular shifts
    by 2^3 = 8 px (three max-pools: finer shifts change what each pool sees); zero padding does not."""
    torch.manual_seed(0)
    net = UNet(ModelConfig(base=8, pe_dim=16, attention=("layer4",), bottleneck="light", padding=padding), 16).eval()
    x, t, lab = torch.randn(2, 1, 16, 16), torch.zeros(2, dtype=torch.long), torch.tensor([[3.0, 5.0], [7.0, 1.0]])
    with torch.no_grad():
        a = net(torch.roll(x, (8, 8), (-2, -1)), t, lab)
        b = torch.roll(net(x, t, lab), (8, 8), (-2, -1))
    assert torch.allclose(a, b, atol=1e-5) == equivariant


def test_periodic_coordinates_break_shift_equivariance_only_by_position():
    """With model.coords=periodic the circular network knows where it is (the input has cos/sin of the pixel's
    angle), so a shift by 8 px changes the output beyond a shift; the coordinates themselves wrap (pixel 0 and
    N − 1 are neighbours on the circle)."""
    torch.manual_seed(0)
    net = UNet(ModelConfig(base=8, pe_dim=16, attention=(), bottleneck="light", padding="circular",
                           coords="periodic"), 16).eval()
    x, t, lab = torch.randn(1, 1, 16, 16), torch.zeros(1, dtype=torch.long), torch.tensor([[3.0, 5.0]])
    with torch.no_grad():
        a, b = net(torch.roll(x, (8, 8), (-2, -1)), t, lab), torch.roll(net(x, t, lab), (8, 8), (-2, -1))
    assert not torch.allclose(a, b, atol=1e-3)
    c = net.coordinates(x)
    assert c.shape == (1, 5, 16, 16) and torch.allclose(c[0, 1:, 0, 0], torch.tensor([1.0, 0.0, 1.0, 0.0]))
    assert torch.dist(c[0, 1:3, 0, 0], c[0, 1:3, 15, 0]) < torch.dist(c[0, 1:3, 0, 0], c[0, 1:3, 8, 0])


def test_model_config_validation():
    with pytest.raises(ConfigError, match="model.attention"):
        apply_overrides(RunConfig(), ["model.attention=[layer7]"])
    with pytest.raises(ConfigError, match="model.base"):
        ModelConfig(base=10)
    with pytest.raises(ConfigError, match="model.padding"):
        ModelConfig(padding="reflect")
    with pytest.raises(ConfigError, match="model.label_harmonics"):
        ModelConfig(pe_dim=8, label_harmonics=5)
