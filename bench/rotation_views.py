"""Do rotated-view descriptors help rotated copies find their original? (accuracy against cost)

Each rot90/rot180/hflip copy in nd-dev queries ~200 originals; prints the share whose original is in
the top 10 / first, with the plain descriptor and with 3 rotated views, and the cost of the views.

    python bench/rotation_views.py
"""
import csv, numpy as np, torch, time
from pathlib import Path
torch.set_num_threads(2)
from mgdesk.core.embedding.backbones import create_backbone
from mgdesk.core.embedding.embedder import to_array
from mgdesk.core.embedding.gem import gem
from mgdesk.core.imaging import load_image
DATA=Path(__file__).resolve().parents[2] / "shared" / "data"
rows=list(csv.DictReader(open(DATA/'nd-dev/truth.csv')))
rot=[r for r in rows if r['transform'] in ('rot90','rot180','hflip')]
orig={r['copy_group']:r['file'] for r in rows if r['transform']=='original'}
others=[r['file'] for r in rows if r['transform']=='original'][:200]
b=create_backbone('tf_efficientnet_lite0')
m=torch.tensor([.5]*3).view(1,3,1,1)*255
def emb(img, side):
    x=torch.from_numpy(np.ascontiguousarray(to_array(img,side))).permute(2,0,1)[None].float()
    with torch.inference_mode():
        return torch.nn.functional.normalize(gem(b.features((x-m)/m),3.0),dim=-1)[0].numpy()
imgs={}
def get(f):
    if f not in imgs: imgs[f]=load_image(DATA/'nd-dev/images'/f, max_side=256).image
    return imgs[f]
base={f:emb(get(f),256) for f in set(others)|set(orig.values())}
for vs in (256, 160):
  views={}
  t=time.time()
  for f in base:
    img=get(f); vi=img.resize((max(1,img.width*vs//256), max(1,img.height*vs//256)))
    views[f]=[emb(vi.rotate(a,expand=True),vs) for a in (90,180,270)]
  print('view side',vs,'s/img',(time.time()-t)/len(base))
  keys=list(base); M=np.stack([base[k] for k in keys])
  V=np.stack([np.stack(views[k]) for k in keys])  # n,3,d
  for tr in ('rot90','rot180','hflip'):
    r_plain=[];r_view=[]
    for r in rot:
      if r['transform']!=tr: continue
      q=emb(load_image(DATA/'nd-dev/images'/r['file'],max_side=256).image,256)
      s=M@q; o=keys.index(orig[r['copy_group']])
      r_plain.append(int((s>s[o]).sum())+1)
      sv=np.maximum(s,(V@q).max(1)); r_view.append(int((sv>sv[o]).sum())+1)
    r_plain=np.array(r_plain); r_view=np.array(r_view)
    print(tr, len(r_plain),'rank<=10 plain',(r_plain<=10).mean().round(3),'views',(r_view<=10).mean().round(3),'rank1 plain',(r_plain==1).mean().round(3),'views',(r_view==1).mean().round(3))
