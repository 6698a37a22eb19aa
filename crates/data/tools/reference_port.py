#!/usr/bin/env python3
"""Independent Python port of clipbench-data's SplitMix64, epoch shuffle and synthetic generator.

It exists to check the golden values pinned in crates/data/src/shuffle.rs and
crates/data/src/synthetic.rs from a second implementation: if both agree bit for bit, the Rust
code depends only on IEEE double arithmetic in a fixed order, not on a platform's libm.
Keep it in step with synthetic.rs (the constants below mirror the Rust ones).

Run:  python3 crates/data/tools/reference_port.py
"""
import hashlib, math
M=(1<<64)-1
G=0x9e3779b97f4a7c15
def mix(z):
    z=((z^(z>>30))*0xbf58476d1ce4e5b9)&M; z=((z^(z>>27))*0x94d049bb133111eb)&M; return z^(z>>31)
def derive(seed,tag): return mix((mix(seed^0x6a09e667f3bcc908)+tag*G)&M)
class R:
    def __init__(s,x): s.s=x
    def u64(s):
        s.s=(s.s+G)&M; return mix(s.s)
    def f64(s): return float(s.u64()>>11)*(1.0/float(1<<53))
    def uniform(s,lo,hi): return lo+(hi-lo)*s.f64()
    def below(s,n):
        t=((-n)&M)%n
        while True:
            r=s.u64()
            if r>=t: return r%n
    def an(s):
        a=s.f64(); a=a+s.f64(); a=a+s.f64(); a=a+s.f64()
        return (a-2.0)*1.7320508075688772
def ss(t): return t*t*(3.0-2.0*t)
def field(r,grid,h,w):
    lat=[r.uniform(-1.0,1.0) for _ in range(grid*grid)]
    def coord(i,n):
        g=float(i)*float(grid-1)/float(n-1); i0=min(int(math.floor(g)),grid-2); return i0, ss(g-float(i0))
    out=[]
    for y in range(h):
        y0,ty=coord(y,h)
        for x in range(w):
            x0,tx=coord(x,w)
            at=lambda yy,xx: lat[yy*grid+xx]
            top=at(y0,x0)*(1.0-tx)+at(y0,x0+1)*tx
            bot=at(y0+1,x0)*(1.0-tx)+at(y0+1,x0+1)*tx
            out.append(top*(1.0-ty)+bot*ty)
    return out
def rnd(x):
    f=math.floor(x); return f+1 if x-f>=0.5 else f
def gen(seed,shape,ms,noise,n,tag):
    c,h,w=shape; ph,pw=h+2*ms,w+2*ms
    r=R(derive(seed,0x50524f54))
    protos=[]
    for _ in range(10):
        luma=field(r,8,ph,pw); chroma=[field(r,8,ph,pw) for _ in range(c)]; protos.append((luma,chroma))
    sp=derive(seed,tag); labels=[]; out=bytearray()
    for i in range(n):
        r=R(derive(sp,i))
        lab=r.below(10); span=2*ms+1; dy=r.below(span); dx=r.below(span)
        con=r.uniform(0.6,1.4); br=r.uniform(-0.1,0.1); gains=[r.uniform(0.6,1.4) for _ in range(c)]
        dis=field(r,4,h,w); luma,chroma=protos[lab]
        for ch in range(c):
            for y in range(h):
                for x in range(w):
                    at=(y+dy)*pw+x+dx
                    sig=con*(gains[ch]*luma[at]+0.35*chroma[ch][at])
                    v=0.5+0.2*(sig+0.8*dis[y*w+x])
                    v=v+br
                    v=v+noise*r.an()
                    v=min(max(v,0.0),1.0)
                    out.append(int(rnd(v*255.0)))
        labels.append(lab)
    return labels, hashlib.sha256(bytes(out)).hexdigest()


def perm(n, seed, epoch):
    o = list(range(n)); r = R(derive(seed, epoch))
    for i in range(n - 1, 0, -1):
        j = r.below(i + 1); o[i], o[j] = o[j], o[i]
    return o


if __name__ == "__main__":
    print("epoch_permutation(10, 42, 0) =", perm(10, 42, 0))
    print("epoch_permutation(10, 42, 1) =", perm(10, 42, 1))
    # SyntheticConfig::default() = for_shape([3, 32, 32]): max_shift 6, noise_std 0.2.
    print("synthetic train (labels, sha256 of u8 levels) =", gen(0, (3, 32, 32), 6, 0.2, 8, 0x54524149))
    print("synthetic test  (labels, sha256 of u8 levels) =", gen(0, (3, 32, 32), 6, 0.2, 2, 0x54455354))
