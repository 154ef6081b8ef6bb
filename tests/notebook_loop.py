"""The seed notebook's GRBM and training loop, as written there.

Only the data loading differs: a ``TensorDataset`` over the given array stands
in for torchvision's FashionMNIST, behind the same per-item ``DataLoader``
(batch 128, shuffle, drop_last). This is the baseline that sklearn-grbm is
measured against, in tests/test_notebook_parity.py and in the benchmarks, which import it from here.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class NotebookGRBM(nn.Module):
    def __init__(self, n_vis, n_hid, k=1, sigma_val=1.0):
        super().__init__()
        self.n_vis = n_vis
        self.n_hid = n_hid
        self.k = k
        self.W = nn.Parameter(0.01 * torch.randn(n_vis, n_hid))
        self.v_bias = nn.Parameter(torch.zeros(n_vis))
        self.h_bias = nn.Parameter(torch.zeros(n_hid))
        sigma = torch.full((n_vis,), float(sigma_val))
        self.register_buffer("sigma", sigma)

    def hidden_prob(self, v):
        v_scaled = v / self.sigma
        return torch.sigmoid(v_scaled @ self.W + self.h_bias)

    def sample_h(self, v):
        p_h = self.hidden_prob(v)
        return torch.bernoulli(p_h), p_h

    def visible_mean(self, h):
        return self.v_bias + self.sigma * (h @ self.W.t())

    def sample_v(self, h):
        mean = self.visible_mean(h)
        v_sample = mean + self.sigma * torch.randn_like(mean)
        return v_sample, mean

    def free_energy(self, v):
        v_centered = (v - self.v_bias) / self.sigma
        vis_term = 0.5 * (v_centered**2).sum(dim=1)
        hidden_lin = (v / self.sigma) @ self.W + self.h_bias
        hidden_term = F.softplus(hidden_lin).sum(dim=1)
        return vis_term - hidden_term

    def gibbs_k(self, v0):
        v = v0
        for _ in range(self.k):
            h, _ = self.sample_h(v)
            v, _ = self.sample_v(h)
        return v


def make_loader(X, batch_size=128, shuffle=True, drop_last=True):
    """The notebook's DataLoader over the rows of a float32 array."""
    X = torch.as_tensor(X, dtype=torch.float32)
    dataset = torch.utils.data.TensorDataset(X, torch.zeros(len(X)))
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last
    )


def train_rbm(rbm, train_loader, device, epochs=25, lr=1e-3, verbose=False):
    rbm.train()
    opt = optim.Adam(rbm.parameters(), lr=lr)
    for epoch in range(1, epochs + 1):
        total_loss = 0.0
        n_batches = 0
        for batch, _ in train_loader:
            batch = batch.view(batch.size(0), -1).to(device)
            v0 = batch
            vk = rbm.gibbs_k(v0).detach()
            loss = (rbm.free_energy(v0) - rbm.free_energy(vk)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total_loss += loss.item()
            n_batches += 1
        if verbose:
            print(f"Epoch {epoch:3d} | Loss: {total_loss / n_batches:.6f}")


@torch.no_grad()
def reconstruction_mse(rbm, data_loader, device):
    rbm.eval()
    total_se = 0.0
    total_pix = 0
    for batch, _ in data_loader:
        v0 = batch.view(batch.size(0), -1).to(device)
        h_prob = rbm.hidden_prob(v0)
        h_sample = torch.bernoulli(h_prob)
        v_mean = rbm.visible_mean(h_sample)
        v_mean = torch.clamp(v_mean, 0.0, 1.0)
        se = F.mse_loss(v_mean, v0, reduction="sum").item()
        total_se += se
        total_pix += v0.numel()
    return total_se / total_pix


def run_notebook(X_train, X_test, n_hidden, *, epochs=25, device="cpu", seed=0):
    """Train the notebook's model on ``X_train``; its test MSE on ``X_test``."""
    torch.manual_seed(seed)  # the notebook's code draws from the global generator
    rbm = NotebookGRBM(n_vis=X_train.shape[1], n_hid=n_hidden, k=1).to(device)
    train_rbm(rbm, make_loader(X_train), device, epochs=epochs)
    test_loader = make_loader(X_test, shuffle=False, drop_last=False)
    return rbm, reconstruction_mse(rbm, test_loader, device)
