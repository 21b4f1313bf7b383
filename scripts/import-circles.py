#!/usr/bin/env python3
"""Import circles between folders of a crate's source: an edge A -> B when
a file in folder A uses `crate::B::…` (B the deepest folder the path
reaches). Parent/child folder pairs are not edges. Test files are skipped."""
import os,re,sys,collections
root=sys.argv[1]
def expand(tree):
    """Expands a use tree like `a::{b::c, d}` into paths."""
    tree=tree.strip()
    if not tree: return []
    i=tree.find('{')
    if i<0: return [tree]
    prefix=tree[:i]; body=tree[i+1:tree.rfind('}')]
    items=[];depth=0;cur=''
    for ch in body:
        if ch=='{':depth+=1
        if ch=='}':depth-=1
        if ch==',' and depth==0: items.append(cur);cur=''
        else: cur+=ch
    items.append(cur)
    out=[]
    for it in items:
        for p in expand(it): out.append(prefix+p)
    return out
def module_folder(rel):
    parts=rel[:-3].split('/')
    if parts[-1]=='mod': parts=parts[:-1]
    elif os.path.isdir(os.path.join(root,rel[:-3])): pass
    else: parts=parts[:-1]
    return '/'.join(parts) or '.'
edges=collections.defaultdict(set)
for dp,_,fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        rel=os.path.relpath(os.path.join(dp,f),root)
        if 'tests' in rel or '/sweep/' in rel or rel=='test_support.rs': continue
        src=open(os.path.join(dp,f)).read()
        src=re.split(r'#\[cfg\(test\)\]\s*mod tests\s*\{',src)[0]
        src=re.sub(r'//.*','',src)
        me=module_folder(rel)
        paths=[]
        for m in re.finditer(r'\buse\s+crate::(.*?);',src,re.S):
            paths+=expand(re.sub(r'\s+','',m.group(1)))
        for m in re.finditer(r'(?<!use )\bcrate::((?:[a-z_0-9]+::)*[a-z_0-9]+)',src):
            paths.append(m.group(1))
        for p in paths:
            segs=[s for s in p.split('::') if s and s!='self']
            best=None
            for k in range(1,len(segs)+1):
                cand='/'.join(segs[:k])
                if os.path.isdir(os.path.join(root,cand)): best=cand
                elif os.path.isfile(os.path.join(root,cand+'.rs')) and best is None and k==1: best=segs[0]
            if best is None: continue
            if best==me or best.startswith(me+'/') or me.startswith(best+'/') or me=='.': continue
            edges[me].add(best)
idx={};low={};st=[];on=set();out=[];c=[0]
def sc(v):
    idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in edges.get(v,()):
        if w not in idx: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v: break
        if len(comp)>1: out.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in list(edges):
    if v not in idx: sc(v)
if '-v' in sys.argv:
    for k,v in sorted(edges.items()): print(k,'->',sorted(v))
for comp in out:
    print('circle:',' , '.join(comp))
    for a in comp: print('   ',a,'->',sorted(b for b in edges[a] if b in comp))
print(len(out),'circle(s)')
